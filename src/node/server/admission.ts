/**
 * Connection limits of a server: in total and per client IP address. A connection counts from
 * the start of its upgrade (so a burst of handshakes cannot slip past the limit) until it closes.
 */
export class Admission {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly maxConnections: number,
    private readonly maxPerIp: number,
  ) {}

  /** Counts a new connection from `ip`, or returns false when a limit is reached. */
  admit(ip: string): boolean {
    if (this.total >= this.maxConnections) return false;
    const count = this.perIp.get(ip) ?? 0;
    if (count >= this.maxPerIp) return false;
    this.total++;
    this.perIp.set(ip, count + 1);
    return true;
  }

  release(ip: string): void {
    this.total--;
    const count = this.perIp.get(ip)! - 1;
    if (count === 0) this.perIp.delete(ip);
    else this.perIp.set(ip, count);
  }

  get size(): number {
    return this.total;
  }
}
