/**
 * Names people give things (orgs, users, roles, devices, templates): printable text. A name is
 * shown in terminals, lists and mails, so it may not carry control characters (ESC starts every
 * ANSI sequence; C1 0x9b is a one-byte CSI), bidi embeddings, overrides or isolates (text that
 * reads in another order than it is stored), or line separators.
 */
import { Type } from '@fastify/type-provider-typebox';

const NOT_PRINTABLE = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';

/** `maxLength` printable characters, at least one of them visible. */
export const PrintableName = (maxLength: number) =>
  Type.String({
    minLength: 1,
    maxLength,
    // \S alone would accept a NUL: one visible character, and nothing unprintable anywhere.
    pattern: `^[^${NOT_PRINTABLE}]*[^\\s${NOT_PRINTABLE}][^${NOT_PRINTABLE}]*$`,
    description: 'printable text with at least one visible character and no control characters',
  });

export const Name = PrintableName(120);
