import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newId, sha256Hex } from '../../shared/ids.js';

describe('ids', () => {
  it('newId: prefix, 16 URL-safe characters of 12 random bytes, never the same twice across pool refills', () => {
    const ids = new Set<string>();
    // Past several refills of the pool (256 ids each): a refill that reused bytes would repeat ids.
    for (let i = 0; i < 2_000; i++) ids.add(newId('evt'));
    expect(ids.size).toBe(2_000);
    for (const id of ids) expect(id).toMatch(/^evt_[A-Za-z0-9_-]{16}$/);
  });

  it('sha256Hex is SHA-256 in hex', () => {
    expect(sha256Hex('token')).toBe(createHash('sha256').update('token').digest('hex'));
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
