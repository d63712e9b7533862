// Finding a node's rendered file by the path it gets on the host.
import type { RenderedFile } from '../templates/render.js';

export function renderedFile(files: readonly RenderedFile[], node: string, target: string): RenderedFile {
  const file = files.find((f) => f.node === node && f.target === target);
  if (!file) throw new Error(`the render has no ${target} for node ${node}`);
  return file;
}
