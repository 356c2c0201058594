/** Bad command-line usage: the command prints the usage and exits with status 2. */
export class UsageFault extends Error {}
