/**
 * The crypto provider a session uses unless it is given one. Under Node: node:crypto (OpenSSL).
 * The web console's bundle swaps this module for default-crypto.browser.ts (WebCrypto), so the
 * shared protocol code never pulls node:crypto into a browser (console/build.mjs).
 */
export { nodeCrypto as defaultCrypto } from './node-crypto-provider.js';
