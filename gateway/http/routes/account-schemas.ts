/** Schema pieces shared by the account routes. Every object refuses fields it does not name. */
import { type TSchema, Type } from '@fastify/type-provider-typebox';

/** Record ids (`usr_…`, `org_…`, `dev_…`) and role keys (`admin`, `rol_…`). */
export const Id = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_-]+$',
  description: 'an id of letters, digits, _ and - (such as usr_… or org_…)',
});
/** Checked again by normalizeEmail(); the schema bounds the size and refuses control characters. */
export const Email = Type.String({
  minLength: 3,
  maxLength: 320,
  pattern: '^[^\\s@]+@[^\\s@]+$',
  description: 'an email address',
});
export const Password = Type.String({ minLength: 1, maxLength: 256 });
export const LinkToken = Type.String({
  minLength: 16,
  maxLength: 256,
  pattern: '^[A-Za-z0-9_-]+$',
  description: 'the token from the link in the mail',
});
export { Name } from './text-schemas.js';
export const Plan = Type.Union([Type.Literal('free'), Type.Literal('pro'), Type.Literal('enterprise')]);
export const UserTypeSchema = Type.Union([
  Type.Literal('developer'),
  Type.Literal('client'),
  Type.Literal('partner'),
]);

export const strict = <T extends Record<string, TSchema>>(properties: T) =>
  Type.Object(properties, { additionalProperties: false });

export const IdParams = strict({ id: Id });
