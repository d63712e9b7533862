// tsc compiles only TypeScript; the templates and the default spec are read at run
// time next to the compiled modules, so they are copied into dist/ beside them.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ASSET = /\.(hbs|yaml)$/;
function copy(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) copy(path);
    else if (ASSET.test(name)) cpSync(path, join('dist', path));
  }
}
for (const dir of ['spec', 'templates']) copy(dir);
