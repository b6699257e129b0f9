/**
 * The schema-walking codec's own rules, beyond the known-answer bytes of messages.test.ts: what it
 * skips, what it refuses, and how oneofs and repeated fields come back.
 */
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { ProtoCodec } from '../../provisioning/protocol/messages/proto-codec.js';

const codec = new ProtoCodec(
  protobuf.parse(
    `syntax = "proto3"; package t;
     enum Color { Red = 0; Blue = 1; }
     message Inner { bytes data = 1; repeated string tags = 2; }
     message Outer {
       uint32 count = 1; int32 delta = 2; bool flag = 3; string label = 4; Color color = 5;
       oneof body { Inner inner = 10; uint32 code = 11; }
       repeated Inner items = 12;
     }`,
    { keepCase: true },
  ).root,
);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const unhex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));

describe('ProtoCodec', () => {
  it('writes fields in number order, defaults left out, a oneof member even when it holds a default', () => {
    const bytes = codec.encode('t.Outer', { code: 0, label: 'x', count: 0, delta: -1, color: 1 });
    expect(hex(bytes)).toBe('10ffffffffffffffffff01220178280158' + '00');
    expect(codec.decode('t.Outer', bytes)).toEqual({
      delta: -1,
      label: 'x',
      color: 1,
      body: 'code',
      code: 0,
    });
  });

  it('round-trips nested and repeated messages, bytes as copies', () => {
    const value = { inner: { data: unhex('0102'), tags: ['a', 'b'] }, items: [{ data: unhex('03') }, {}] };
    const bytes = codec.encode('t.Outer', value);
    const decoded = codec.decode('t.Outer', bytes);
    expect(decoded).toEqual({ ...value, body: 'inner', items: [{ data: unhex('03') }, {}] });
    const data = (decoded.inner as { data: Uint8Array }).data;
    expect(data.buffer).not.toBe(bytes.buffer);
  });

  it('skips unknown fields and fields whose wire type does not match the schema', () => {
    // field 99 (varint), then field 1 sent as bytes instead of a varint, then count = 7
    expect(codec.decode('t.Outer', unhex('987a05' + '0a0161' + '0807'))).toEqual({ count: 7 });
  });

  it('a later oneof member replaces an earlier one; a later default clears a value', () => {
    expect(codec.decode('t.Outer', unhex('5203' + '0a0101' + '5809'))).toEqual({ body: 'code', code: 9 });
    expect(codec.decode('t.Outer', unhex('0805' + '0800'))).toEqual({});
  });

  it('refuses truncated input, a nested message running past its parent, field 0 and bad wire types', () => {
    for (const bad of ['0a', '2205616263', '52020a05', '0007', '0f', '5202', '08ffffffffffffffffffff01']) {
      expect(() => codec.decode('t.Outer', unhex(bad)), bad).toThrow();
    }
  });

  it('refuses schemas it cannot encode faithfully', () => {
    const packed = protobuf.parse('syntax = "proto3"; message P { repeated uint32 n = 1; }').root;
    expect(() => new ProtoCodec(packed).encode('P', {})).toThrow(/packed/);
    const map = protobuf.parse('syntax = "proto3"; message M { map<string, string> m = 1; }').root;
    expect(() => new ProtoCodec(map).encode('M', {})).toThrow(/map/);
    const long = protobuf.parse('syntax = "proto3"; message L { uint64 n = 1; }').root;
    expect(() => new ProtoCodec(long).encode('L', {})).toThrow(/uint64/);
  });
});
