/** protocomm status codes carried in every answer (esp-idf protocomm constants.proto). */
export const ProtocommStatus = {
  success: 0,
  invalidSecScheme: 1,
  invalidProto: 2,
  /** Tether also uses it for "too many wrong PoPs: locked out" (with SessionData.tether_retry_after_ms). */
  tooManySessions: 3,
  invalidArgument: 4,
  internalError: 5,
  /** A proof that does not verify (wrong PoP). */
  cryptoError: 6,
  invalidSession: 7,
} as const;

export type ProtocommStatusCode = (typeof ProtocommStatus)[keyof typeof ProtocommStatus];

const names = new Map<number, string>(Object.entries(ProtocommStatus).map(([name, code]) => [code, name]));

/** A readable name for a status code, for error messages ("cryptoError", "status 42"). */
export const statusName = (code: number): string => names.get(code) ?? `status ${code}`;
