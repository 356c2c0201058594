// UTF-8 test vectors for the conformance suite, following the sections of Markus Kuhn's
// "UTF-8 decoder capability and stress test" (as Autobahn's case 6 does), judged by RFC 3629:
// no overlong forms, no surrogates (U+D800-U+DFFF), nothing above U+10FFFF, no 5- or 6-byte
// forms, no bytes C0, C1, F5-FF. Noncharacters such as U+FFFE are valid UTF-8.

export interface Utf8Vector {
  /** Kuhn's section number, or a short tag. */
  section: string;
  title: string;
  bytes: Buffer;
  valid: boolean;
}

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const v = (section: string, title: string, h: string, valid: boolean): Utf8Vector => ({
  section,
  title,
  bytes: hex(h),
  valid,
});

/** κόσμε, Kuhn's 1: correct UTF-8. */
export const KOSME = hex('ce ba e1 bd b9 cf 83 ce bc ce b5');

export const UTF8_VECTORS: Utf8Vector[] = [
  { section: '1', title: 'κόσμε', bytes: KOSME, valid: true },
  // 2.1 first possible sequence of each length
  v('2.1.1', 'U+0000', '00', true),
  v('2.1.2', 'U+0080', 'c2 80', true),
  v('2.1.3', 'U+0800', 'e0 a0 80', true),
  v('2.1.4', 'U+10000', 'f0 90 80 80', true),
  v('2.1.5', '5-byte U+200000', 'f8 88 80 80 80', false),
  v('2.1.6', '6-byte U+4000000', 'fc 84 80 80 80 80', false),
  // 2.2 last possible sequence of each length
  v('2.2.1', 'U+007F', '7f', true),
  v('2.2.2', 'U+07FF', 'df bf', true),
  v('2.2.3', 'U+FFFF', 'ef bf bf', true),
  v('2.2.4', 'U+1FFFFF (4 bytes, above U+10FFFF)', 'f7 bf bf bf', false),
  v('2.2.5', '5-byte U+3FFFFFF', 'fb bf bf bf bf', false),
  v('2.2.6', '6-byte U+7FFFFFFF', 'fd bf bf bf bf bf', false),
  // 2.3 other boundary conditions
  v('2.3.1', 'U+D7FF', 'ed 9f bf', true),
  v('2.3.2', 'U+E000', 'ee 80 80', true),
  v('2.3.3', 'U+FFFD', 'ef bf bd', true),
  v('2.3.4', 'U+10FFFF', 'f4 8f bf bf', true),
  v('2.3.5', 'U+110000', 'f4 90 80 80', false),
  // 3.1 unexpected continuation bytes
  v('3.1.1', 'first continuation byte 0x80', '80', false),
  v('3.1.2', 'last continuation byte 0xbf', 'bf', false),
  v('3.1.3', '2 continuation bytes', '80 bf', false),
  v('3.1.4', '3 continuation bytes', '80 bf 80', false),
  v('3.1.5', '4 continuation bytes', '80 bf 80 bf', false),
  v(
    '3.1.6',
    'all 64 continuation bytes',
    Array.from({ length: 64 }, (_, i) => (0x80 + i).toString(16)).join(''),
    false,
  ),
  // 3.2 lonely start characters
  v('3.2.1', 'lonely 2-byte start C0 then space', 'c0 20', false),
  v('3.2.2', 'lonely 2-byte start DF then space', 'df 20', false),
  v('3.2.3', 'lonely 3-byte start E0 then space', 'e0 20', false),
  v('3.2.4', 'lonely 4-byte start F0 then space', 'f0 20', false),
  v('3.2.5', 'lonely 5-byte start F8 then space', 'f8 20', false),
  v('3.2.6', 'lonely 6-byte start FC then space', 'fc 20', false),
  // 3.3 sequences with the last continuation byte missing (text ends inside)
  v('3.3.1', '2-byte sequence without its last byte (C2)', 'c2', false),
  v('3.3.2', '3-byte sequence without its last byte (E0 A0)', 'e0 a0', false),
  v('3.3.3', '4-byte sequence without its last byte (F0 90 80)', 'f0 90 80', false),
  v('3.3.4', 'U+07FF without its last byte (DF)', 'df', false),
  v('3.3.5', 'U+FFFF without its last byte (EF BF)', 'ef bf', false),
  v('3.3.6', 'U+10FFFF without its last byte (F4 8F BF)', 'f4 8f bf', false),
  // 3.4 concatenation of incomplete sequences
  v('3.4', 'incomplete sequences concatenated', 'c2 e0a0 f09080 df efbf f48fbf', false),
  // 3.5 impossible bytes
  v('3.5.1', 'byte FE', 'fe', false),
  v('3.5.2', 'byte FF', 'ff', false),
  v('3.5.3', 'bytes FE FE FF FF', 'fe fe ff ff', false),
  v('3.5.4', 'byte F5 (would start above U+10FFFF)', 'f5 80 80 80', false),
  // 4.1 overlong ASCII '/'
  v('4.1.1', 'overlong / in 2 bytes', 'c0 af', false),
  v('4.1.2', 'overlong / in 3 bytes', 'e0 80 af', false),
  v('4.1.3', 'overlong / in 4 bytes', 'f0 80 80 af', false),
  v('4.1.4', 'overlong / in 5 bytes', 'f8 80 80 80 af', false),
  // 4.2 maximum overlong sequences
  v('4.2.1', 'maximum overlong 2 bytes (U+007F)', 'c1 bf', false),
  v('4.2.2', 'maximum overlong 3 bytes (U+07FF)', 'e0 9f bf', false),
  v('4.2.3', 'maximum overlong 4 bytes (U+FFFF)', 'f0 8f bf bf', false),
  // 4.3 overlong NUL
  v('4.3.1', 'overlong NUL in 2 bytes', 'c0 80', false),
  v('4.3.2', 'overlong NUL in 3 bytes', 'e0 80 80', false),
  v('4.3.3', 'overlong NUL in 4 bytes', 'f0 80 80 80', false),
  // 5.1 single UTF-16 surrogates
  v('5.1.1', 'surrogate U+D800', 'ed a0 80', false),
  v('5.1.2', 'surrogate U+DB7F', 'ed ad bf', false),
  v('5.1.3', 'surrogate U+DB80', 'ed ae 80', false),
  v('5.1.4', 'surrogate U+DBFF', 'ed af bf', false),
  v('5.1.5', 'surrogate U+DC00', 'ed b0 80', false),
  v('5.1.6', 'surrogate U+DF80', 'ed be 80', false),
  v('5.1.7', 'surrogate U+DFFF', 'ed bf bf', false),
  // 5.2 paired UTF-16 surrogates
  v('5.2.1', 'surrogate pair U+D800 U+DC00', 'ed a0 80 ed b0 80', false),
  v('5.2.2', 'surrogate pair U+DBFF U+DFFF', 'ed af bf ed bf bf', false),
  // 5.3 noncharacters: valid UTF-8
  v('5.3.1', 'noncharacter U+FFFE', 'ef bf be', true),
  v('5.3.2', 'noncharacter U+FFFF', 'ef bf bf', true),
  v('5.3.3', 'noncharacter U+FDD0', 'ef b7 90', true),
  v('5.3.4', 'noncharacter U+10FFFE', 'f4 8f bf be', true),
  // More valid texts.
  {
    section: 'v.1',
    title: 'Hello-µ@ßöäüàá-UTF-8!!',
    bytes: Buffer.from('Hello-µ@ßöäüàá-UTF-8!!'),
    valid: true,
  },
  {
    section: 'v.2',
    title: 'astral: emoji and musical symbols',
    bytes: Buffer.from('😀 𝄞 𝕏 🀄 \u{10ffff}'),
    valid: true,
  },
  {
    section: 'v.3',
    title: 'mixed scripts',
    bytes: Buffer.from('Ελληνικά Русский 日本語 한국어 עברית العربية'),
    valid: true,
  },
  { section: 'v.4', title: 'BOM and U+FFFD', bytes: Buffer.from('\ufeff\ufffd'), valid: true },
  // Invalid bytes inside otherwise valid text.
  {
    section: 'i.1',
    title: 'κόσμε, a surrogate, then more text',
    bytes: Buffer.concat([KOSME, hex('eda080'), Buffer.from('edited')]),
    valid: false,
  },
  {
    section: 'i.2',
    title: 'κόσμε then U+110000 then more text',
    bytes: Buffer.concat([KOSME, hex('f4908080'), Buffer.from('edited')]),
    valid: false,
  },
  {
    section: 'i.3',
    title: 'text ending with a truncated 4-byte sequence',
    bytes: Buffer.concat([Buffer.from('abc😀'), hex('f09f98')]),
    valid: false,
  },
];
