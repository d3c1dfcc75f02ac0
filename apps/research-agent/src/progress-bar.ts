import type { Progress } from "./run-agent.js";

export interface ProgressBar {
  update(progress: Progress, checkpointed: boolean): void;
  /** A line printed above the bar. */
  note(line: string): void;
  finish(): void;
}

/**
 * On a terminal, one line redrawn in place. Otherwise (CI, a pipe), a plain
 * line per checkpoint whose counts changed.
 */
export function progressBar(out: NodeJS.WriteStream = process.stdout): ProgressBar {
  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  let current = "";
  let printed = "";

  if (out.isTTY === true) {
    // Cut to the terminal's width: a wrapped line could not be redrawn in place.
    const draw = () => out.write(`\r\x1b[2K${current.slice(0, (out.columns || 80) - 1)}`);
    return {
      update(p) {
        const width = 24;
        const done = Math.round((width * p.summarised) / Math.max(p.total, 1));
        const bar = "█".repeat(done) + "░".repeat(width - done);
        current = `  ${bar} ${p.summarised}/${p.total} summarised · ${p.fetched} fetched · step ${p.step} · ${seconds()}`;
        draw();
      },
      note(line) {
        out.write(`\r\x1b[2K${line}\n`);
        draw();
      },
      finish() {
        out.write("\n");
      },
    };
  }
  return {
    update(p, checkpointed) {
      const counts = `${p.fetched}/${p.total} fetched, ${p.summarised}/${p.total} summarised`;
      if (!checkpointed || counts === printed || p.fetched + p.summarised === 0) return;
      printed = counts;
      out.write(`  step ${p.step}: ${counts} (${seconds()})\n`);
    },
    note(line) {
      out.write(`${line}\n`);
    },
    finish() {},
  };
}
