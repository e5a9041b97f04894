import { unsafeLayerPath } from './image-errors';

/**
 * The path components of a layer entry relative to the layer root, resolved
 * lexically: a leading `/` is dropped (tar semantics) and `..` may not climb
 * above the root.
 */
export function layerPathComponents(name: string): string[] {
  if (name.includes('\0')) throw unsafeLayerPath(`layer entry "${name}" contains a NUL byte`);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) throw unsafeLayerPath(`layer entry "${name}" escapes the layer root`);
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts;
}
