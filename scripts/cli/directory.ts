/**
 * People and organizations by name and email, for the command line: lists show "Ada <ada@…>" and
 * org names instead of bare ids, and `--user`, `--owner` and `--org` take an email or a name where
 * that names exactly one. Read from the gateway with the caller's own rights (GET /api/users needs
 * users.view): what a person may not see stays an id.
 */
import { TetherError } from '../../shared/errors.js';
import type { GatewayClient } from '../../shared/gateway-client.js';

export interface Person {
  id: string;
  email: string;
  name: string;
  orgId: string;
}

export interface OrgEntry {
  id: string;
  name: string;
  parentId: string | null;
}

const looksLikeId = (value: string, prefix: string) => new RegExp(`^${prefix}_[A-Za-z0-9_-]+$`).test(value);

export class Directory {
  #me: Person | undefined;
  #people: Person[] | undefined;
  #orgs: OrgEntry[] | undefined;

  constructor(private readonly client: GatewayClient) {}

  async me(): Promise<Person> {
    this.#me ??= (await this.client.request<{ user: Person }>('GET', '/api/me')).user;
    return this.#me;
  }

  /** Everyone the caller may see (only themselves without users.view). */
  async people(): Promise<Person[]> {
    if (!this.#people) {
      const me = await this.me();
      try {
        this.#people = (await this.client.request<{ users: Person[] }>('GET', '/api/users')).users;
      } catch (error) {
        if ((error as TetherError).code !== 'PERMISSION_DENIED') throw error;
        this.#people = [me];
      }
    }
    return this.#people;
  }

  async orgs(): Promise<OrgEntry[]> {
    if (!this.#orgs) {
      try {
        this.#orgs = (await this.client.request<{ orgs: OrgEntry[] }>('GET', '/api/orgs')).orgs;
      } catch (error) {
        if ((error as TetherError).code !== 'PERMISSION_DENIED') throw error;
        this.#orgs = [];
      }
    }
    return this.#orgs;
  }

  /** "Name <email>" of a user the caller may see, "you" for the caller, else the id. */
  async personLabel(id: string | null | undefined): Promise<string | null> {
    if (!id) return null;
    const me = await this.me();
    if (id === me.id) return `you <${me.email}>`;
    const person = (await this.people()).find((p) => p.id === id);
    return person ? `${person.name} <${person.email}>` : id;
  }

  async orgLabel(id: string | null | undefined): Promise<string | null> {
    if (!id) return null;
    return (await this.orgs()).find((o) => o.id === id)?.name ?? id;
  }

  /** A user id from an id, an email or a name; `option` names the option in errors. */
  async userId(value: string, option: string): Promise<string> {
    if (looksLikeId(value, 'usr')) return value;
    const wanted = value.normalize('NFKC').trim().toLowerCase();
    const people = await this.people();
    const byEmail = people.filter((p) => p.email === wanted);
    if (byEmail.length === 1) return byEmail[0]!.id;
    const byName = people.filter((p) => p.name.toLowerCase() === wanted);
    return this.#one(byName, value, option, 'person', (p) => `${p.name} <${p.email}> (${p.id})`);
  }

  /** An org id from an id or a name (case does not matter). */
  async orgId(value: string, option: string): Promise<string> {
    if (looksLikeId(value, 'org')) return value;
    const wanted = value.trim().toLowerCase();
    const matches = (await this.orgs()).filter((o) => o.name.toLowerCase() === wanted);
    return this.#one(matches, value, option, 'organization', (o) => `${o.name} (${o.id})`);
  }

  #one<T extends { id: string }>(
    matches: T[],
    value: string,
    option: string,
    what: string,
    describe: (m: T) => string,
  ): string {
    if (matches.length === 1) return matches[0]!.id;
    if (matches.length === 0) {
      throw new TetherError(
        'NOT_FOUND',
        `${option} ${JSON.stringify(value)}: no ${what} you can see has that ${what === 'person' ? 'email or name' : 'name'}.`,
        { details: { option } },
      );
    }
    throw new TetherError(
      'VALIDATION_FAILED',
      `${option} ${JSON.stringify(value)} names ${matches.length} ${what === 'person' ? 'people' : 'organizations'}: ${matches
        .slice(0, 5)
        .map(describe)
        .join(', ')}. Use the id.`,
      { details: { option } },
    );
  }
}
