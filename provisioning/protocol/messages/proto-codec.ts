/**
 * Protocol Buffers encoding and decoding driven by a parsed schema, with no generated code.
 *
 * protobufjs builds each message's encoder and decoder with `new Function(…)`, which a page under a
 * strict Content-Security-Policy (no 'unsafe-eval', the web console's) may not run; its answer is
 * pbjs static code (protobufjs #593, #1483). This walks the same reflected schema instead and
 * writes through protobufjs's own Writer and Reader (eval-free), so one codec serves Node and the
 * browser from the one .proto text. It follows protobufjs 8's proto3 rules exactly, which the
 * known-answer tests pin to Espressif's bytes:
 *
 * - fields are written in field-number order;
 * - a field of implicit presence is written only when it differs from its default, and a decoded
 *   one equal to its default is left out; a oneof member (explicit presence) is always written
 *   when set, and decoding it names the member under the oneof's name;
 * - a field whose wire type does not match the schema is skipped as unknown, as are unknown fields;
 * - a message field seen twice is merged; a later oneof member replaces an earlier one.
 *
 * Supported: the scalar types below, enums (as numbers), nested messages, repeated messages, bytes
 * and strings. Anything else (maps, 64-bit integers, packed scalars, groups) is refused when the
 * schema is compiled, so a schema edit cannot silently mis-encode.
 */
import protobuf from 'protobufjs';

type Scalar = 'uint32' | 'int32' | 'sint32' | 'bool' | 'string' | 'bytes' | 'float' | 'double' | 'fixed32';

const WIRE: Readonly<Record<Scalar, number>> = {
  uint32: 0,
  int32: 0,
  sint32: 0,
  bool: 0,
  string: 2,
  bytes: 2,
  float: 5,
  double: 1,
  fixed32: 5,
};
const LENGTH_DELIMITED = 2;

interface FieldPlan {
  name: string;
  id: number;
  /** A scalar type, 'enum' (encoded as int32) or 'message'. */
  kind: Scalar | 'enum' | 'message';
  wireType: number;
  repeated: boolean;
  /** Explicit presence: a oneof member. */
  oneof: string | undefined;
  message: MessagePlan | undefined;
}

interface MessagePlan {
  name: string;
  /** In field-number order. */
  fields: FieldPlan[];
  byId: Map<number, FieldPlan>;
  /** oneof name → its members' names */
  oneofs: Map<string, string[]>;
}

/** A decoded message: plain own properties; bytes as Uint8Array, enums as numbers. */
export type DecodedMessage = Record<string, unknown>;

export class ProtoCodec {
  readonly #plans = new Map<string, MessagePlan>();
  readonly #root: protobuf.Root;

  constructor(root: protobuf.Root) {
    root.resolveAll();
    this.#root = root;
  }

  encode(typeName: string, value: object): Uint8Array {
    const writer = protobuf.Writer.create();
    writeMessage(this.#plan(typeName), value as Record<string, unknown>, writer);
    return writer.finish();
  }

  /** Throws on malformed input (the caller turns that into its own coded error). */
  decode(typeName: string, bytes: Uint8Array): DecodedMessage {
    const reader = protobuf.Reader.create(bytes);
    return readMessage(this.#plan(typeName), reader, reader.len, Object.create(null));
  }

  #plan(typeName: string): MessagePlan {
    const known = this.#plans.get(typeName);
    if (known) return known;
    return this.#compile(this.#root.lookupType(typeName));
  }

  #compile(type: protobuf.Type): MessagePlan {
    const name = type.fullName;
    const known = this.#plans.get(name);
    if (known) return known;
    const plan: MessagePlan = { name, fields: [], byId: new Map(), oneofs: new Map() };
    this.#plans.set(name, plan); // before the fields, so a recursive schema terminates
    for (const field of [...type.fieldsArray].sort((a, b) => a.id - b.id)) {
      if (field.map || field.delimited) throw unsupported(name, field.name, 'map or group');
      const resolved = field.resolvedType;
      let kind: FieldPlan['kind'];
      let message: MessagePlan | undefined;
      if (resolved instanceof protobuf.Type) {
        kind = 'message';
        message = this.#compile(resolved);
      } else if (resolved instanceof protobuf.Enum) {
        kind = 'enum';
      } else if (Object.hasOwn(WIRE, field.type)) {
        kind = field.type as Scalar;
      } else {
        throw unsupported(name, field.name, field.type);
      }
      const wireType = kind === 'message' ? LENGTH_DELIMITED : kind === 'enum' ? 0 : WIRE[kind];
      if (field.repeated && wireType !== LENGTH_DELIMITED) {
        throw unsupported(name, field.name, `repeated ${field.type} (packed)`);
      }
      const oneof = field.partOf?.name;
      const entry: FieldPlan = {
        name: field.name,
        id: field.id,
        kind,
        wireType,
        repeated: field.repeated,
        oneof,
        message,
      };
      plan.fields.push(entry);
      plan.byId.set(field.id, entry);
      if (oneof) plan.oneofs.set(oneof, [...(plan.oneofs.get(oneof) ?? []), field.name]);
    }
    return plan;
  }
}

function unsupported(message: string, field: string, what: string): Error {
  return new Error(`${message}.${field}: ${what} is not supported by this codec.`);
}

const isDefault = (field: FieldPlan, value: unknown): boolean => {
  switch (field.kind) {
    case 'string':
      return value === '';
    case 'bytes':
      return (value as Uint8Array).length === 0;
    case 'bool':
      return value === false;
    case 'float':
    case 'double':
      return Object.is(value, 0);
    case 'message':
      return false;
    default:
      return value === 0;
  }
};

function writeMessage(plan: MessagePlan, value: Record<string, unknown>, writer: protobuf.Writer): void {
  for (const field of plan.fields) {
    if (!Object.hasOwn(value, field.name)) continue;
    const item = value[field.name];
    if (item === undefined || item === null) continue;
    if (field.repeated) {
      for (const element of item as unknown[]) writeField(field, element, writer);
      continue;
    }
    if (!field.oneof && isDefault(field, item)) continue;
    writeField(field, item, writer);
  }
}

function writeField(field: FieldPlan, value: unknown, writer: protobuf.Writer): void {
  writer.uint32(((field.id << 3) | field.wireType) >>> 0);
  switch (field.kind) {
    case 'message':
      writer.fork();
      writeMessage(field.message!, value as Record<string, unknown>, writer);
      writer.ldelim();
      return;
    case 'enum':
      writer.int32(Number(value));
      return;
    case 'bool':
      writer.bool(Boolean(value));
      return;
    case 'string':
      writer.string(String(value));
      return;
    case 'bytes':
      writer.bytes(value as Uint8Array);
      return;
    default:
      writer[field.kind](Number(value));
  }
}

/** @own-key field names come from the parsed schema, and decoded messages have no prototype */
function readMessage(
  plan: MessagePlan,
  reader: protobuf.Reader,
  end: number,
  into: DecodedMessage,
): DecodedMessage {
  while (reader.pos < end) {
    const tag = reader.tag();
    const field = plan.byId.get(tag >>> 3);
    if (!field || (tag & 7) !== field.wireType) {
      reader.skipType(tag & 7, 0, tag >>> 3); // field number 0 and bad wire types throw
      continue;
    }
    if (field.kind === 'message') {
      const length = reader.size();
      const stop = reader.pos + length;
      if (stop > end) throw new RangeError(`${plan.name}.${field.name} runs past the end of its message`);
      const previous = field.repeated ? undefined : into[field.name];
      const target = (previous as DecodedMessage | undefined) ?? Object.create(null);
      const message = readMessage(field.message!, reader, stop, target);
      if (field.repeated) appendTo(into, field.name, message);
      else set(plan, field, into, message);
      continue;
    }
    const value = readScalar(field, reader);
    if (field.repeated) appendTo(into, field.name, value);
    else if (field.oneof || !isDefault(field, value)) set(plan, field, into, value);
    else delete into[field.name]; // a later default clears an earlier value (protobufjs 8)
  }
  if (reader.pos !== end) throw new RangeError(`${plan.name} ends inside a field`);
  return into;
}

function readScalar(field: FieldPlan, reader: protobuf.Reader): unknown {
  switch (field.kind) {
    case 'enum':
      return reader.int32();
    case 'bytes':
      // A copy: a decoded message never aliases the buffer it came from.
      return new Uint8Array(reader.bytes());
    case 'message':
      throw new Error('a message is not a scalar');
    default:
      return reader[field.kind]();
  }
}

/** @own-key field and oneof names come from the parsed schema */
function set(plan: MessagePlan, field: FieldPlan, into: DecodedMessage, value: unknown): void {
  if (field.oneof) {
    for (const member of plan.oneofs.get(field.oneof) ?? []) if (member !== field.name) delete into[member];
    into[field.oneof] = field.name;
  }
  into[field.name] = value;
}

/** @own-key field names come from the parsed schema */
function appendTo(into: DecodedMessage, name: string, value: unknown): void {
  const list = into[name];
  if (Array.isArray(list)) list.push(value);
  else into[name] = [value];
}
