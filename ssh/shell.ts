// An interactive login shell over an ssh2 connection, for `kubestrap ssh NODE`: a PTY
// sized like the user's terminal, raw keystrokes in, output out, resized on SIGWINCH.
import type { Client } from 'ssh2';

export function interactiveShell(
  client: Client,
  input: NodeJS.ReadStream,
  output: NodeJS.WriteStream,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const window = { term: process.env.TERM ?? 'xterm-256color', rows: output.rows ?? 24, cols: output.columns ?? 80 };
    client.shell(window, (error, stream) => {
      if (error) return reject(error);
      const onResize = () => stream.setWindow(output.rows ?? 24, output.columns ?? 80, 0, 0);
      const wasRaw = input.isTTY ? input.isRaw : false;
      if (input.isTTY) input.setRawMode(true);
      process.on('SIGWINCH', onResize);
      input.pipe(stream);
      stream.pipe(output, { end: false });
      stream.stderr.pipe(process.stderr, { end: false });
      let code = 0;
      stream.on('exit', (exitCode: number | null) => {
        code = exitCode ?? 1;
      });
      stream.on('close', () => {
        input.unpipe(stream);
        if (input.isTTY) input.setRawMode(wasRaw);
        input.pause();
        process.off('SIGWINCH', onResize);
        resolve(code);
      });
    });
  });
}
