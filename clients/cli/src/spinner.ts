const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Spinner {
  stop(finalLine?: string): void;
}

/** A spinner with elapsed seconds on stderr, only when stderr is a terminal (never in pipes or logs). */
export function spinner(text: string, stream: NodeJS.WriteStream = process.stderr): Spinner {
  if (!stream.isTTY) return { stop: () => {} };
  const started = Date.now();
  let frame = 0;
  const draw = () => {
    const secs = Math.floor((Date.now() - started) / 1000);
    stream.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${text} ${secs}s`);
  };
  draw();
  const timer = setInterval(draw, 100);
  return {
    stop(finalLine) {
      clearInterval(timer);
      stream.write('\r\x1b[2K');
      if (finalLine) stream.write(`${finalLine}\n`);
    },
  };
}
