/**
 * The line of machine facts every benchmark prints first (CPU model and SIMD flags, cores, memory, node), and the
 * CPU time of a process from /proc.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

export function machineFacts(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  let simd = '';
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? model;
    const flags = /flags\s*:\s*(.*)/.exec(cpuinfo)?.[1].split(' ') ?? [];
    simd = ['avx512f', 'avx2', 'fma', 'sse4_2'].filter((f) => flags.includes(f)).join('+');
  } catch {
    // not Linux
  }
  return `${model}, ${cpus().length} cores${simd ? ` (${simd})` : ''}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${process.platform}/${process.arch}`;
}

/** Clock ticks per second of /proc's CPU times (getconf CLK_TCK, else 100). */
export const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process (all its threads), seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": state is field 3, utime field 14, stime field 15 (1-based) -> indexes 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}
