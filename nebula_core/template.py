"""OpenNebula templates: parse the template language or its XML form, write both.

Text form (OpenNebula 7.4 rules, OPENNEBULA.md 6.1)::

    NAME = value      # unquoted: no blank, newline, = # , [ ] or "
    NAME = "quoted"   # may span lines; \\" and \\\\ are escapes, other \\ literal
    NAME =            # at the end of a line: empty value
    DISK = [ K1 = v1, K2 = "v2" ]

A carriage return is a blank outside quotes (CRLF files parse) and kept inside them.

XML form: ``<ANY_ROOT><NAME>v</NAME><NIC><IP>v</IP></NIC></ANY_ROOT>``. An element
holding elements is a vector, one holding text or CDATA (even empty CDATA) is a single
value, and one holding nothing is an empty vector: pyone's dict2xml writes ``""`` and
``{}`` that way.

Every Template survives ``parse(t.to_text())`` and ``parse(t.to_xml())``. The XML writer
keeps that promise by splitting CDATA around ``]]>``, writing ``\\r`` as ``&#13;`` (XML
parsers turn a raw carriage return into a newline) and prefixing ``ONE_`` to names XML
cannot start with. The one exception: characters XML 1.0 cannot carry at all (most C0
controls, U+FFFE, U+FFFF, lone surrogates) become U+FFFD in ``to_xml``, so that a reply
is always well-formed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import NoReturn, TypeAlias
from xml.parsers import expat

Vector: TypeAlias = dict[str, str]
Value: TypeAlias = str | Vector

_NAME = re.compile(r"[A-Za-z0-9_]+")
# One match per token. The alternatives start with disjoint characters and every
# repeat is possessive, so nothing is ever backtracked into: scanning is linear.
_TOKEN = re.compile(
    r"""(?P<gap>(?:[\ \t\r\n]++|\#[^\n]*+)*+)    # blanks, newlines, comments
    (?:(?P<string>"[^"\\]*+(?:\\.[^"\\]*+)*+")  # a whole quoted value
      |(?P<bare>[^\ \t\r\n=\#,\[\]"]++)        # a name or an unquoted value
      |(?P<mark>[=,\[\]"]?))                  # = , [ ] a lone quote, or "" at the end
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPE = re.compile(r'\\([\\"])')
_XML_START = re.compile(r"[ \t\r\n]*<")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_SPACE = " \t\r\n"


class TemplateSyntaxError(ValueError):
    """A template that cannot be parsed, with the 1-based position of the bad token."""

    def __init__(self, msg: str, line: int, column: int, end: int = 0) -> None:
        self.line, self.column = line, column
        super().__init__(f"{msg} at line {line}, columns {column}:{max(column, end)}")


def _error(text: str, pos: int, msg: str, length: int = 1) -> TemplateSyntaxError:
    """Error for the token of ``length`` characters at offset ``pos`` of ``text``."""
    line, column = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
    return TemplateSyntaxError(msg, line, column, column + length - 1)


def _name(name: str) -> str:
    """Check and upper-case a name, so that every Template can be written back."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"invalid attribute name {name!r}: use letters, digits and _")
    return name.upper()


def _normal(value: Value) -> Value:
    """Copy a value, vector keys upper-cased (first of duplicates wins, as in parse)."""
    if isinstance(value, str):
        return value
    vector: Vector = {}
    for key, item in value.items():
        vector.setdefault(_name(key), item)
    return vector


def _wrap(attrs: list[tuple[str, Value]]) -> Template:
    """A Template over attributes that are already normal (skips __init__'s checks)."""
    template = Template()
    template.attrs = attrs
    return template


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text_value(value: Value) -> str:
    if isinstance(value, str):
        return _quote(value)
    if not value:
        return "[ ]"
    pairs = ",\n".join(f"  {key} = {_quote(item)}" for key, item in value.items())
    return f"[\n{pairs} ]"


def _cdata(value: str) -> str:
    """CDATA that any XML parser reads back as ``value`` (see the module docstring)."""
    body = _NOT_XML.sub("\ufffd", value).replace("]]>", "]]]]><![CDATA[>")
    return "<![CDATA[" + body.replace("\r", "]]>&#13;<![CDATA[") + "]]>"


def _element(name: str, value: Value) -> str:
    tag = _xml_name(name)
    if isinstance(value, str):
        body = _cdata(value)
    else:
        body = "".join(map(_element, value, value.values()))
    return f"<{tag}>{body}</{tag}>"


def _needs_prefix(name: str) -> bool:
    """OpenNebula prefixes ONE_ to names starting with a digit or XML. We also prefix
    ONE_ + such a name, so that reading strips exactly one ONE_ and nothing is lost."""
    while name.startswith("ONE_"):
        name = name[4:]
    return name[:1].isdigit() or name.startswith("XML")


def _xml_name(name: str) -> str:
    return "ONE_" + name if _needs_prefix(name) else name


def _from_xml_name(tag: str) -> str:
    return tag[4:] if tag.startswith("ONE_") and _needs_prefix(tag[4:]) else tag


class Template:
    """Ordered multimap of attributes (repeated keys kept in order: several DISK, NIC).

    Names are ASCII ``[A-Za-z0-9_]+`` stored upper-case (lookups are case-insensitive);
    a value is a string or a one-level vector of strings.
    """

    __slots__ = ("attrs",)

    def __init__(self, attrs: Iterable[tuple[str, Value]] = ()) -> None:
        """Names and vector keys are checked and upper-cased (ValueError if invalid)."""
        self.attrs: list[tuple[str, Value]] = [(_name(n), _normal(v)) for n, v in attrs]

    def get(self, name: str, default: Value | None = None) -> Value | None:
        """First value of ``name``: what OpenNebula reads when it expects one."""
        key = name.upper()
        return next((value for n, value in self.attrs if n == key), default)

    def get_str(self, name: str, default: str | None = None) -> str | None:
        """First value of ``name`` if it is a single value, else ``default``."""
        value = self.get(name)
        return value if isinstance(value, str) else default

    def get_all(self, name: str) -> list[Value]:
        """Every value of ``name`` in order (several DISK, NIC, ...)."""
        key = name.upper()
        return [value for n, value in self.attrs if n == key]

    def vectors(self, name: str) -> list[Vector]:
        """Every vector value of ``name``, skipping single values of the same name."""
        return [value for value in self.get_all(name) if isinstance(value, dict)]

    def set(self, name: str, value: Value) -> None:
        """Replace all occurrences by one at the position of the first, or append."""
        key, value = _name(name), _normal(value)
        index = next(
            (i for i, (n, _) in enumerate(self.attrs) if n == key), len(self.attrs)
        )
        self.attrs = [attr for attr in self.attrs if attr[0] != key]
        self.attrs.insert(index, (key, value))

    def add(self, name: str, value: Value) -> None:
        """Append one more occurrence."""
        self.attrs.append((_name(name), _normal(value)))

    def remove(self, name: str) -> None:
        """Drop every occurrence of ``name``."""
        key = name.upper()
        self.attrs = [attr for attr in self.attrs if attr[0] != key]

    def merge(self, other: Template) -> None:
        """OpenNebula ``update`` with append=1: other's names replace all of ours."""
        names = {name for name, _ in other.attrs}
        kept = [attr for attr in self.attrs if attr[0] not in names]
        self.attrs = kept + other.copy().attrs

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, Value]]:
        return iter(self.attrs)

    def __len__(self) -> int:
        return len(self.attrs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Template):
            return NotImplemented
        return self.attrs == other.attrs

    def __repr__(self) -> str:
        return f"Template({self.attrs!r})"

    def copy(self) -> Template:
        """Independent copy (vectors are copied too)."""
        return _wrap([(n, v if isinstance(v, str) else dict(v)) for n, v in self.attrs])

    def to_text(self) -> str:
        """OpenNebula syntax, one attribute a line, values quoted so all round-trip."""
        return "".join(f"{name} = {_text_value(value)}\n" for name, value in self.attrs)

    def to_xml(self, root: str = "TEMPLATE") -> str:
        """Compact XML, values in CDATA as oned writes them (no declaration, no blanks).

        ``root`` is used as given; names XML cannot start with get the prefix ``ONE_``.
        """
        body = "".join(_element(name, value) for name, value in self.attrs)
        return f"<{root}>{body}</{root}>"

    def to_json(self) -> str:
        """Compact JSON for the database; ASCII-only, so it fits any column encoding."""
        return json.dumps(self.attrs, separators=(",", ":"))

    @classmethod
    def from_json(cls, s: str) -> Template:
        """Inverse of to_json. Trusts its input (our own to_json output) and skips the checks."""
        return _wrap([(name, value) for name, value in json.loads(s)])

    def to_dict(self) -> dict[str, Value | list[Value]]:
        """The view pyone gives: single -> str, vector -> dict, repeated -> list."""
        groups: dict[str, list[Value]] = {}
        for name, value in self.copy().attrs:
            groups.setdefault(name, []).append(value)
        return {name: vs[0] if len(vs) == 1 else vs for name, vs in groups.items()}


class _TextParser:
    """Recursive-descent parser over the tokens of _TOKEN (one regex match each)."""

    def __init__(self, text: str) -> None:
        self.text = text
        # _TOKEN matches at every position, so finditer never skips any text
        self.tokens = _TOKEN.finditer(text)
        self.next()

    def next(self) -> None:
        """Move to the next token (``kind`` is its group, ``gap`` what precedes it)."""
        match = next(self.tokens)
        self.kind = match.lastgroup or ""
        self.gap, self.token = match.group("gap", self.kind)
        self.start = match.start(self.kind)
        if self.token == '"':
            raise _error(self.text, self.start, "syntax error, unterminated string")

    def template(self) -> Template:
        attrs: list[tuple[str, Value]] = []
        while self.token:
            name = self.name("name")
            self.expect("=")
            if not self.token or "\n" in self.gap or "#" in self.gap:
                # "NAME =" ends the line (or the text): an empty value
                attrs.append((name, ""))
            elif self.token == "[":
                attrs.append((name, self.vector()))
            else:
                attrs.append((name, self.scalar()))
        return _wrap(attrs)

    def vector(self) -> Vector:
        """``[ K = v, ... ]`` from its ``[``; the first of duplicated keys wins."""
        self.next()
        vector: Vector = {}
        if self.token == "]":
            self.next()
            return vector
        while True:
            key = self.name("name" if vector else "name or ']'")
            self.expect("=")
            if self.token == "[":
                self.fail("value (vectors cannot nest)")
            vector.setdefault(key, "" if self.token in (",", "]") else self.scalar())
            if self.token not in (",", "]"):
                self.fail("',' or ']'")
            closing = self.token == "]"
            self.next()
            if closing:
                return vector

    def name(self, expecting: str) -> str:
        if self.kind != "bare" or not _NAME.fullmatch(self.token):
            self.fail(expecting)
        name = self.token.upper()
        self.next()
        return name

    def expect(self, mark: str) -> None:
        if self.token != mark:
            self.fail(f"'{mark}'")
        self.next()

    def scalar(self) -> str:
        """An unquoted value, or a quoted one with \\" and \\\\ unescaped."""
        if self.kind == "bare":
            value = self.token
        elif self.kind == "string":
            value = self.token[1:-1]
            if "\\" in value:
                value = _ESCAPE.sub(r"\1", value)
        else:
            self.fail("value")
        self.next()
        return value

    def fail(self, expecting: str) -> NoReturn:
        token, length = self.token, len(self.token)
        if not token:
            what = "end of input"
        elif self.kind == "string":
            what, length = "string", 1
        else:
            what = repr(token if length <= 20 else token[:20] + "...")
        message = f"syntax error, unexpected {what}, expecting {expecting}"
        raise _error(self.text, self.start, message, length)


class _XmlReader:
    """expat handlers building a Template: depth 1 is the root, 2 attributes, 3 keys."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.attrs: list[tuple[str, Value]] = []
        self.depth = 0
        self.name = self.key = ""
        self.vector: Vector = {}
        self.chars: list[str] = []
        self.has_text = self.nested = False
        # where the attribute's first non-blank text is, to report mixed content
        self.text_at: tuple[int, int] | None = None
        self.parser = parser = expat.ParserCreate()
        parser.StartDoctypeDeclHandler = self.doctype
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.data
        parser.StartCdataSectionHandler = self.cdata

    def read(self) -> Template:
        try:
            self.parser.Parse(self.text, True)
        except expat.ExpatError as e:
            message = f"XML error: {expat.ErrorString(e.code)}"
            raise TemplateSyntaxError(message, e.lineno, e.offset + 1) from None
        except UnicodeEncodeError as e:  # lone surrogates cannot reach expat
            raise _error(self.text, e.start, "XML error: invalid character") from None
        return _wrap(self.attrs)

    def where(self, chars: str = "") -> tuple[int, int]:
        """1-based position of the current event, or of the first non-blank of its
        ``chars`` (expat hands text over line by line: no newline precedes it)."""
        indent = len(chars) - len(chars.lstrip(_XML_SPACE))
        column = self.parser.CurrentColumnNumber + 1 + indent
        return self.parser.CurrentLineNumber, column

    def fail(self, message: str, at: tuple[int, int] | None = None) -> NoReturn:
        raise TemplateSyntaxError(f"XML error: {message}", *(at or self.where()))

    def doctype(self, *_: object) -> None:
        """Refuse DTDs outright: they are the door to entity-expansion attacks."""
        # expat stands after "<!DOCTYPE name ..."; report where the declaration starts
        before = self.text.encode()[: self.parser.CurrentByteIndex].decode()
        message = "XML error: DOCTYPE and ENTITY declarations are not allowed"
        raise _error(self.text, before.rfind("<!DOCTYPE"), message, 9)

    def tag(self, tag: str) -> str:
        if not _NAME.fullmatch(tag):
            self.fail(f"invalid attribute name {tag!r}")
        return _from_xml_name(tag.upper())

    def start(self, tag: str, _attributes: dict[str, str]) -> None:
        """XML attributes are ignored, as OpenNebula does."""
        self.depth += 1
        if self.depth == 2:
            self.name, self.vector, self.chars = self.tag(tag), {}, []
            self.has_text = self.nested = False
            self.text_at = None
        elif self.depth == 3:
            if self.text_at:
                self.fail("text mixed with elements", self.text_at)
            self.nested = True
            self.key, self.chars = self.tag(tag), []
        elif self.depth > 3:
            self.fail(f"element {tag!r} is nested too deep (vectors cannot nest)")

    def end(self, _tag: str) -> None:
        if self.depth == 3:
            self.vector.setdefault(self.key, "".join(self.chars))
            self.chars = []
        elif self.depth == 2:
            single = self.has_text and not self.nested
            value = "".join(self.chars) if single else self.vector
            self.attrs.append((self.name, value))
        self.depth -= 1

    def data(self, chars: str) -> None:
        blank = not chars.strip(_XML_SPACE)
        if self.depth == 3 or (self.depth == 2 and not self.nested):
            self.chars.append(chars)
            self.has_text = True
            if self.depth == 2 and not (blank or self.text_at):
                self.text_at = self.where(chars)
        elif not blank:
            self.fail("text mixed with elements", self.where(chars))

    def cdata(self) -> None:
        """Even an empty CDATA section makes a single value (pyone writes "" so)."""
        self.has_text = True


def parse(text: str, *, max_size: int = 1 << 20) -> Template:
    """Parse a template in OpenNebula's language, or in XML if it starts with ``<``.

    ``max_size`` counts characters. Any failure raises TemplateSyntaxError.
    """
    if len(text) > max_size:
        size = f"{len(text)} characters, at most {max_size} allowed"
        raise _error(text, max_size, f"template too large: {size}")
    if _XML_START.match(text):
        return _XmlReader(text).read()
    return _TextParser(text).template()
