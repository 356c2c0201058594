/**
 * One line for a listen() failure a user causes (port taken, a host that does not resolve or is
 * not this machine's), instead of a stack trace; undefined for anything else.
 */
export function listenErrorLine(
  error: unknown,
  port: number,
  host: string | undefined,
): string | undefined {
  const code = (error as { code?: string } | null)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} is in use${host === undefined ? '' : ` on ${host}`} (another server? try --port)`;
    case 'EACCES':
      return `port ${port} needs privileges (ports below 1024 do; try --port 8080)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `unknown host: ${host} does not resolve (try --host 127.0.0.1, or leave --host out for every interface)`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine (try --host 127.0.0.1, or leave --host out)`;
    default:
      return undefined;
  }
}
