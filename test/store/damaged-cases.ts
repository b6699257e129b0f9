/** Store files for the damage tests and the store-file fuzz suite: one valid database, and damaged ones. */
import { SCHEMA_VERSION } from '../../gateway/store/embedded-store.js';
import { device, org, user } from './store-contract.js';

/** A small valid database: every table present, references that hold. */
export function validDocument(): Record<string, unknown> {
  return {
    schemaVersion: SCHEMA_VERSION,
    journalSeq: 0,
    meta: { schemaVersion: SCHEMA_VERSION, setupCodeHash: null },
    orgs: [org('org_a'), org('org_b', 'org_a')],
    users: [user('usr_1', 'a@example.com'), user('usr_2', 'b@example.com', 'org_b')],
    refreshTokens: [
      { id: 'rt_1', userId: 'usr_1', tokenHash: 'rth_1', createdAt: 1, expiresAt: 2, revokedAt: null },
    ],
    templates: [
      {
        id: 'TMPL00000001',
        orgId: 'org_a',
        name: 'Thermostat',
        datastreams: [{ name: 'temp', type: 'double', min: -40, max: 125 }],
        hotspotPrefix: 'Tether',
        minSecurity: 2,
        createdAt: 1,
      },
    ],
    devices: [device('dev_1', 'hash_1'), { ...device('dev_2', 'hash_2', 'org_b'), ownerId: 'usr_2' }],
    audit: [
      {
        id: 'evt_1',
        at: 1,
        actor: 'system',
        action: 'org.created',
        targetType: 'org',
        targetId: 'org_a',
        orgId: 'org_a',
        ip: null,
      },
    ],
    roles: [
      {
        id: 'org_a/admin',
        orgId: 'org_a',
        key: 'admin',
        name: 'Admin',
        permissions: ['org.view'],
        builtIn: true,
        createdAt: 1,
      },
    ],
    invitations: [],
    linkTokens: [],
    grants: [],
    deviceEvents: [],
  };
}

type Doc = Record<string, unknown> & { [table: string]: unknown };
const rows = (doc: Doc, table: string) => doc[table] as Array<Record<string, unknown>>;
const damaged = (change: (doc: Doc) => void) => {
  const doc = validDocument() as Doc;
  change(doc);
  return JSON.stringify(doc);
};

/** [what, file content, what the refusal must say] */
export const DAMAGED: Array<[string, string, RegExp]> = [
  ['an empty file', '', /is not valid JSON/],
  ['cut-off JSON', JSON.stringify(validDocument()).slice(0, 200), /is not valid JSON/],
  ['null', 'null', /holds null, not a Tether database/],
  ['a list', '[]', /holds a list, not a Tether database/],
  ['a number', '42', /holds a number, not a Tether database/],
  ['an empty object', '{}', /has no schemaVersion: it is not a Tether database, or it is damaged/],
  [
    'a text schema version',
    damaged((d) => (d.schemaVersion = '1')),
    /schemaVersion "1", which no Tether writes/,
  ],
  [
    'a newer schema version',
    damaged((d) => (d.schemaVersion = SCHEMA_VERSION + 1)),
    /written by a newer Tether/,
  ],
  ['a missing table', damaged((d) => delete d.users), /table users is missing/],
  ['a table that is null', damaged((d) => (d.users = null)), /table users is null, expected a list/],
  [
    'a table that is an object',
    damaged((d) => (d.devices = {})),
    /table devices is an object, expected a list/,
  ],
  ['an unknown table', damaged((d) => (d.widgets = [])), /unknown table widgets/],
  ['meta that is null', damaged((d) => (d.meta = null)), /meta is null/],
  ['an audit log that is not a list', damaged((d) => (d.audit = 'x')), /audit is a string, expected a list/],
  ['a row that is null', damaged((d) => rows(d, 'orgs').push(null as never)), /orgs\[2\] is null/],
  ['a row without an id', damaged((d) => rows(d, 'templates').push({ name: 'x' })), /a record without an id/],
  [
    'a field of the wrong type',
    damaged((d) => (rows(d, 'devices')[0]!.status = 'flying')),
    /devices dev_1: \/status/,
  ],
  ['a missing field', damaged((d) => delete rows(d, 'users')[0]!.email), /users usr_1: .*email/],
  [
    'a field no Tether writes',
    damaged(() => undefined).replace('"id":"org_a"', '"__proto__":{"admin":true},"id":"org_a"'),
    /orgs org_a: .*unknown field __proto__/,
  ],
  [
    'two rows with one id',
    damaged((d) => rows(d, 'devices').push({ ...device('dev_1', 'hash_9') })),
    /devices: two records with id dev_1/,
  ],
  [
    'two users with one email',
    damaged((d) => (rows(d, 'users')[1]!.email = 'a@example.com')),
    /users usr_2 and usr_1 have the same email|users usr_1 and usr_2 have the same email/,
  ],
  [
    'two devices with one token',
    damaged((d) => (rows(d, 'devices')[1]!.tokenHash = 'hash_1')),
    /have the same tokenHash/,
  ],
  [
    'a user in an org that does not exist',
    damaged((d) => (rows(d, 'users')[0]!.orgId = 'org_gone')),
    /users usr_1: orgId org_gone names no orgs record/,
  ],
  [
    'a device in an org that does not exist',
    damaged((d) => (rows(d, 'devices')[0]!.orgId = 'org_gone')),
    /devices dev_1: orgId org_gone names no orgs record/,
  ],
  [
    'a session of a user that does not exist',
    damaged((d) => (rows(d, 'refreshTokens')[0]!.userId = 'usr_gone')),
    /refreshTokens rt_1: userId usr_gone names no users record/,
  ],
  [
    'orgs that are each other’s parent',
    damaged((d) => (rows(d, 'orgs')[0]!.parentId = 'org_b')),
    /its parent chain loops/,
  ],
  ['an unknown top-level field', damaged((d) => (d.secrets = [])), /unknown table secrets/],
  [
    'a bad journal position',
    damaged((d) => (d.journalSeq = -4)),
    /journalSeq is a number, expected a whole number/,
  ],
];
