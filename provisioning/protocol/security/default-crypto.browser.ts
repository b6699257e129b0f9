/** The browser's default crypto provider: WebCrypto (see default-crypto.ts). */
export { webCrypto as defaultCrypto } from './web-crypto-provider.js';
