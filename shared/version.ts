/** The version every part of Tether reports (the CLI, backups). */
export const TETHER_VERSION = '0.1.0';
