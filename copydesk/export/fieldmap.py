"""The ``esp:`` section of ``copydesk.yaml``: which copydesk field is which platform attribute.

```yaml
esp:
  braze: {favourite_activity: custom_attribute.favourite_activity}
  mailchimp: {first_name: FNAME, city: CITY}
```

Fields not listed get the platform's standard attribute (``first_name`` -> ``FNAME``,
``contact.firstname``, ``firstName``...) or, where the platform has one, its
custom-attribute convention.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from copydesk.models import FileModel

FieldMap = dict[str, str]


class EspConfig(FileModel):
    """One field map per platform: copydesk field -> platform attribute."""

    braze: FieldMap = Field(default_factory=dict)
    iterable: FieldMap = Field(default_factory=dict)
    klaviyo: FieldMap = Field(default_factory=dict)
    mailchimp: FieldMap = Field(default_factory=dict)
    sfmc: FieldMap = Field(default_factory=dict)
    hubspot: FieldMap = Field(default_factory=dict)

    @model_validator(mode="after")
    def _attributes_valid(self) -> EspConfig:
        from copydesk.export.dialect import get

        problems: list[str] = []
        for name in type(self).model_fields:
            problems += get(name).field_map_problems(self.for_dialect(name))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def for_dialect(self, name: str) -> FieldMap:
        """The field map of dialect ``name`` (empty when none is configured)."""
        found: FieldMap = getattr(self, name, {})
        return found
