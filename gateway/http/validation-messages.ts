/**
 * Schema refusals written for people. Ajv reports every keyword that failed ("must be equal to
 * constant" three times, then "must match a schema in anyOf"); this turns them into one line per
 * field — `plan must be one of free, pro, enterprise (got "gold")` — and lists the fields in
 * details.problems, so a client (the CLI) can name its own option for each field.
 */
import { TetherError } from '../../shared/errors.js';

/** What ajv (with `verbose`) reports per failed keyword; only the parts read here. */
export interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  data?: unknown;
  parentSchema?: { description?: string; const?: unknown; anyOf?: Array<{ const?: unknown }> };
}

export interface Problem {
  /** The field as the API names it (`plan`, `datastreams.0.name`, a query key); '' for the whole request. */
  field: string;
  /** What is wrong, to follow the field's name: `must be one of …`. */
  rule: string;
}

const shown = (value: unknown): string => {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
};

const fieldOf = (path: string, context: string): string =>
  path
    .split('/')
    .filter(Boolean)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.') || context;

function ruleOf(error: SchemaError): string | undefined {
  const p = error.params;
  const got = error.data === undefined ? '' : ` (got ${shown(error.data)})`;
  const described = error.parentSchema?.description;
  switch (error.keyword) {
    case 'anyOf': {
      const options = error.parentSchema?.anyOf?.map((s) => s.const).filter((v) => v !== undefined);
      if (options && options.length > 0) return `must be one of ${options.join(', ')}${got}`;
      return `is not valid${got}`;
    }
    case 'const':
      // Reported again, once as a whole, by the anyOf around it.
      return undefined;
    case 'pattern':
      return described ? `must be ${described}${got}` : `is not in the expected form${got}`;
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters long`;
    case 'maxLength':
      return `must be at most ${String(p.limit)} characters long`;
    case 'type':
      return `must be ${p.type === 'integer' ? 'a whole number' : `a ${String(p.type)}`}${got}`;
    case 'minimum':
      return `must be at least ${String(p.limit)}${got}`;
    case 'maximum':
      return `must be at most ${String(p.limit)}${got}`;
    case 'maxItems':
      return `may hold at most ${String(p.limit)} items`;
    case 'minItems':
      return `must hold at least ${String(p.limit)} items`;
    default:
      return undefined;
  }
}

/** The problems in `errors`, one per field, in the order ajv found them. */
export function describeSchemaErrors(errors: readonly SchemaError[], context: string): Problem[] {
  const out = new Map<string, Problem>();
  const add = (field: string, rule: string) => {
    if (!out.has(`${field}\u0000${rule}`)) out.set(`${field}\u0000${rule}`, { field, rule });
  };
  for (const error of errors) {
    const at = fieldOf(error.instancePath, context);
    const prefix = error.instancePath ? `${at}.` : '';
    if (error.keyword === 'required') add(`${prefix}${String(error.params.missingProperty)}`, 'is required');
    else if (error.keyword === 'additionalProperties')
      add(`${prefix}${String(error.params.additionalProperty)}`, 'is not a field this request takes');
    else if (error.keyword === 'minProperties') add('', 'Say what to change: this request names nothing');
    else {
      const rule = ruleOf(error);
      if (rule) add(at, rule);
    }
  }
  // A field with a precise rule does not also need "is not valid".
  const problems = [...out.values()];
  return problems.filter(
    (p) => !(p.rule.startsWith('is not valid') && problems.some((q) => q.field === p.field && q !== p)),
  );
}

export function schemaError(errors: readonly SchemaError[], context: string): TetherError {
  const problems = describeSchemaErrors(errors, context);
  const message =
    problems.length > 0
      ? `${problems.map((p) => (p.field ? `${p.field} ${p.rule}` : p.rule)).join('; ')}.`
      : `The ${context} of this request is not valid.`;
  return new TetherError('VALIDATION_FAILED', message, {
    details: { ...(problems[0]?.field ? { field: problems[0].field } : {}), problems },
  });
}
