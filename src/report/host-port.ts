/** An address and port as people write them: `10.0.0.1:80`, `[fd00::1]:80`; the bare address without a port. */
export function hostPort(h: string, p: number | null): string {
  if (p === null) return h;
  return h.includes(':') ? `[${h}]:${p}` : `${h}:${p}`;
}
