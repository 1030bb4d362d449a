"""Passwords: the policy a new password must meet, and salted scrypt hashes (standard
library). No default passwords exist.

The policy (docs/security.md): at least :data:`MIN_LENGTH` characters; some of them
visible (not all spaces or zero-width characters); not a common password, also when
written in capitals, with digits or symbols around it, in "l33t" spelling or repeated
("passwordpassword", "Password1234!", "p@ssw0rd2024"); not a run along the keyboard or
the alphabet ("1234567890ab", "qwertyuiopas"); and not containing the user's own name.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata

from copydesk.errors import InputError
from copydesk.freetext import visible

_N, _R, _P = 2**14, 8, 1
MIN_LENGTH = 12
#: Long enough for any passphrase; bounds the work a check does.
MAX_LENGTH = 1024

#: A stored hash no password matches: checked against when the user name is unknown, so
#: an unknown name costs the same scrypt work as a wrong password (no timing oracle).
UNMATCHABLE = f"scrypt${_N}${_R}${_P}${'00' * 16}${'ff' * 32}"

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
                       "@": "a", "$": "s", "!": "i", "+": "t", "|": "l"})
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")

#: Runs along the keyboard, the alphabet and the digits: a password inside one of these
#: (either direction) is refused.
SEQUENCES = (
    "0123456789" * 4,
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1234567890qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
    "zaqxswcdevfrbgtnhymjukilop",
    "1q2w3e4r5t6y7u8i9o0p",
    "q1w2e3r4t5y6u7i8o9p0",
    "a1b2c3d4e5f6g7h8i9j0",
)

# Common passwords and the words they are built on, lower case, from public lists of the
# most used passwords; whitespace-separated, as one block to keep the module short.
_COMMON = """
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball abc123
football monkey letmein 696969 shadow master 666666 qwertyuiop 123321 mustang 1234567890 michael
654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx 123qwe killer trustno1 jordan jennifer zxcvbnm
asdfgh hunter buster soccer harley batman andrew tigger sunshine iloveyou charlie robert thomas hockey
ranger daniel starwars klaster 112233 george computer michelle jessica pepper 1111 zxcvbn 555555
11111111 131313 freedom 777777 pass maggie 159753 aaaaaa ginger princess joshua cheese amanda summer
love ashley nicole chelsea biteme matthew access yankees 987654321 dallas austin thunder taylor
matrix william corvette hello martin heather secret merlin diamond 1234qwer gfhjkm hammer silver
222222 88888888 anthony justin test bailey q1w2e3r4t5 patrick internet scooter orange 11111 golfer
cookie richard samantha bigdog guitar jackson whatever mickey chicken sparky snoopy maverick phoenix
camaro peanut morgan welcome falcon cowboy ferrari samsung andrea smokey steelers joseph mercedes
dakota arsenal eagles melissa boomer booboo spider nascar monster tigers yellow xxxxxx 123123123
gateway marina diablo bulldog qwer1234 compaq purple banana junior hannah 123654 porsche lakers iceman
money cowboys 987654 london tennis 999999 ncc1701 coffee scooby 0000 miller boston q1w2e3r4 brandon
yamaha chester mother forever johnny edward 333333 oliver redsox player nikita knight fender barney
midnight please brandy chicago badboy slayer rangers charles angel flower bigdaddy rabbit wizard
jasper enter rachel chris steven winner adidas victoria natasha 1q2w3e4r jasmine winter prince
marine ghbdtn fishing cocacola casper james 232323 raiders 888888 marlboro gandalf asdfasdf crystal
87654321 12344321 golden 8675309 panther lauren angela spanky thx1138 angels madison winston shannon
mike toyota jordan23 canada sophie apples tiger 123abc pokemon qazxsw 55555 qwaszx muffin johnson
murphy cooper jonathan liverpoo david danielle 159357 jackie 1990 123456a 789456 turtle abcd1234
scorpion qazwsxedc 101010 butter carlos password1 dennis slipknot qwerty123 booger asdf 1991 black
startrek 12341234 cameron newyork rainbow nathan john 1992 rocket viking redskins asdfghjkl 1212
sierra peaches gemini doctor wilson sandra helpme qwertyui victor florida dolphin pookie captain
tucker blue liverpool theman bandit dolphins maddog packers jaguar lovers nicholas united tiffany
maxwell zzzzzz nirvana jeremy monica elephant giants hotdog rosebud success debbie mountain 444444
xxxxxxxx warrior 1q2w3e4r5t q1w2e3 123456q albert metallic lucky azerty 7777 bond007 alexis 1111111
samson 5150 willie scorpio bonnie gators benjamin voodoo driver dexter 2112 jason calvin freddy 212121
creative 12345a sydney rush2112 1989 asdfghjk red123 bubba 4815162342 passw0rd trouble gunner happy
gordon legend jessie stella qwert eminem arthur apple nissan bear america 1qazxsw2 nothing parker 4444
rebecca qweqwe garfield 01012011 beavis 69696969 jack asdasd december 2222 102030 252525 11223344
magic apollo skippy 315475 kitten golf copper braves shelby godzilla beaver fred tomcat august buddy
airborne 1993 1988 lifehack qqqqqq brooklyn animal platinum phantom online xavier darkness blink182
power fish green 789456123 voyager police travis 12qwaszx heaven snowball lover abcdef 00000 pakistan
007007 walter playboy blazer cricket sniper donkey willow loveme saturn therock redwings bigboy
pumpkin trinity williams nintendo digital destiny topgun runner marvin guinness chance bubbles
testing fire november minecraft asdf1234 lasvegas sergey broncos cartman private celtic birdie little
cassie babygirl donald beatles 1313 family 12121212 school louise gabriel eclipse fluffy 147258369
lol123 explorer beer nelson flyers spencer scott lovely gibson doggie cherry andrey snickers buffalo
pantera metallica member carter qwertyu peter alexander steve bronco paradise goober 5555 samuel
montana mexico dreams michigan carolina yankee friends magnum surfer maximus genius cool vampire
lacrosse asd123 aaaa christin kimberly speedy sharon carmen 111222 kristina sammy racing ou812
sabrina horses 0987654321 qwerty1 pimpin baby stalker enigma 147147 star poohbear 147258 simple
12345q marcus brian 1987 qweasdzxc drowssap hahaha caroline barbara dave viper drummer action
einstein genesis hello1 scotty friend forest 010203 hotrod google vanessa spitfire badger maryjane
friday alaska 1232323q tester jester jake champion floyd hunting gregory charlotte 112358 bulldogs
1q2w3e 31415926 admin administrator root toor guest user login changeme default welcome1 letmein1
password12 password123 password1234 passw0rd1 p@ssw0rd qwerty12 qwerty1234 iloveyou1 iloveyou2
princess1 monkey1 dragon1 sunshine1 football1 baseball1 superman1 master1 shadow1 michael1 jordan23
loveyou mypassword secret123 abc12345 abcd12345 abcdefg abcdefgh 123abc123 aa123456 a123456 a12345678
zaq12wsx zaq1zaq1 xsw2zaq1 1qaz1qaz 2wsx3edc qwe123 qweasd qweasd123 123qweasd 1q2w3e4r5t6y
qwertyuiop123 asdfghjkl123 zxcvbnm123 abcdefghijkl abcdefghijklmnop 123456789a 1234567890a
0123456789 9876543210 1122334455 123123123123 111111111111 000000000000 12345678910 1234512345
11235813 31415926535 27182818 9999999999 2020 2021 2022 2023 2024 2025 2026 spring autumn fall
january february march april may june july september october monday tuesday wednesday thursday
saturday sunday weekend holiday vacation christmas easter halloween birthday happybirthday
iloveyou123 iloveyouforever iloveyoubaby iloveme loveyou123 mylove lovelove sweetheart sweetie
honey darling babydoll angel1 angelina beautiful pretty princesa princess123 cutie cupcake flowers
rose butterfly sunflower unicorn rainbow1 blessed blessing faith hope jesus jesus1 jesuschrist
god godisgood christ heaven1 trustme believe freedom1 liberty justice peace peaceout
whatever1 nothing1 nobody someone something anything everything everyone forever1 always never
letmeinnow openup opensesame youshallnotpass accessgranted accessdenied security secure
securepassword strongpassword supersecret topsecret confidential private1 hidden mysecret
passpass passwordpassword password0 password00 password01 password2 password3 passwords
thepassword newpassword oldpassword mypass mypassword1 yourpassword nopassword nopass
correcthorsebatterystaple correcthorse batterystaple trustno1trustno1 qwertyqwerty asdfasdfasdf
qazwsxedcrfv 1qaz2wsx3edc 1qaz2wsx3edc4rfv zaq12wsxcde3 !qaz2wsx !qaz@wsx 1q2w3e4r5t6y7u8i
football123 baseball123 soccer123 hockey123 basketball tennis123 golfer123 runner123 swimming
cheerleader dancer singer music musician guitar1 piano drums rockstar rocknroll metal punk
computer1 internet1 google123 facebook twitter instagram youtube linkedin microsoft apple123
windows linux ubuntu iphone android samsung1 nokia blackberry playstation xbox xbox360 nintendo64
pokemon1 pikachu naruto sasuke goku dragonball onepiece batman1 superman123 spiderman ironman
hulk thor avengers starwars1 jedi skywalker darthvader yoda gandalf1 frodo hobbit harrypotter
hogwarts matrix1 neo trinity1 morpheus terminator rambo rocky titanic simpsons homer bart
football2 liverpool1 chelsea1 arsenal1 manchester manutd barcelona realmadrid juventus milan
lakers1 yankees1 redsox1 cowboys1 steelers1 packers1 patriots eagles1 raiders1 broncos1
mustang1 ferrari1 porsche1 mercedes1 bmw audi honda toyota1 nissan1 ford chevy corvette1 harley1
yamaha1 ducati kawasaki suzuki camaro1 jeep truck motorcycle
dog cat puppy kitty doggy kitten1 tiger1 lion eagle falcon1 shark dolphin1 monkey123 donkey1 horse
pony bunny turtle1 panda koala penguin bear1 wolf fox snake dragon123 phoenix1
london1 paris newyork1 chicago1 boston1 dallas1 texas california florida1 miami vegas hawaii
canada1 america1 usa england scotland ireland germany france italy spain mexico1 brazil
australia india pakistan1 china japan russia moscow berlin madrid rome tokyo
qwerty12345 1234qwerasdf asdf;lkj q1w2e3r4t5y6 1a2b3c4d 1a2b3c a1b2c3 a1b2c3d4 abc123abc
letmein123 welcome123 admin123 admin1234 administrator1 root123 test123 test1234 testing123
guest123 user123 login123 temp temp123 temporary changeme1 changeme123 default1 demo demo123
sample example example123 company business office work work123 job money1 money123 cash rich
million billion dollar euro bitcoin crypto gold silver1 diamond1 platinum1
"""

#: Compared after the variations a weak password hides behind are undone.
COMMON_PASSWORDS = frozenset(_COMMON.split())


def _variants(password: str) -> set[str]:
    """The forms a weak password hides behind: case, spaces, digits and symbols around
    it, l33t spelling."""
    compact = "".join(unicodedata.normalize("NFKC", password).casefold().split())
    core = _EDGES.sub("", compact)
    return {v for v in (compact, core, compact.translate(_LEET), core.translate(_LEET)) if v}


def _repeats_a_short_or_common_unit(text: str) -> bool:
    for size in range(1, len(text) // 2 + 1):
        unit = text[:size]
        if len(text) % size == 0 and unit * (len(text) // size) == text:
            return size <= 4 or unit in COMMON_PASSWORDS
    return False


def _in_a_sequence(text: str) -> bool:
    return any(text in seq or text in seq[::-1] for seq in SEQUENCES)


def password_problem(password: str, *, user_name: str | None = None) -> str | None:
    """Why ``password`` is refused (the password itself never appears), or ``None``."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password may have at most {MAX_LENGTH} characters"
    try:
        password.encode()
    except UnicodeEncodeError:
        return "a password must be valid text (it holds a lone surrogate)"
    if not visible(password):
        return "a password cannot be only spaces or invisible characters"
    variants = _variants(password)
    if any(v in COMMON_PASSWORDS for v in variants):
        return "that is one of the most common passwords (also with digits or symbols added): choose another"
    if any(_repeats_a_short_or_common_unit(v) or _in_a_sequence(v) for v in variants):
        return "that password is a repetition or a run of keys: choose another"
    if user_name and len(user_name) >= 3 and any(user_name.casefold() in v for v in variants):
        return "a password may not contain the user name"
    return None


def check_policy(password: str, *, user_name: str | None = None) -> None:
    """Raise :class:`InputError` (field ``password``) when ``password`` breaks the policy."""
    problem = password_problem(password, user_name=user_name)
    if problem is not None:
        raise InputError(problem, field="password")


def hash_password(password: str, *, user_name: str | None = None) -> str:
    """Return ``scrypt$n$r$p$salt$hash`` for ``password``, which must meet the policy."""
    check_policy(password, user_name=user_name)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a stored hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    try:
        candidate = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(candidate.hex(), digest)
