"""Approved content in each sending platform's own personalisation language.

- :mod:`copydesk.export.parse`: copydesk's placeholder text as literal text and
  :class:`~copydesk.export.parse.Placeholder` objects (parsed with Jinja, never executed);
- :mod:`copydesk.export.dialect`: what every platform dialect answers, the registry, errors;
- one module per platform (:mod:`~copydesk.export.braze`, :mod:`~copydesk.export.iterable`,
  :mod:`~copydesk.export.klaviyo`, :mod:`~copydesk.export.mailchimp`,
  :mod:`~copydesk.export.sfmc`, :mod:`~copydesk.export.hubspot`);
- :mod:`copydesk.export.fieldmap`: the ``esp:`` section of ``copydesk.yaml``;
- :mod:`copydesk.export.translate`: one approved variant in one dialect, with its approval comment;
- :mod:`copydesk.export.presets`: bulk-import CSV layouts for per-contact rendered content.

See docs/reference/esp-export.md.
"""
