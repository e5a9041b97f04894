import { existsSync } from 'fs';
import { chmod, link, mkdir, readFile, symlink, writeFile } from 'fs/promises';
import * as path from 'path';
import { makeTempDir } from '../testing/archive-fixtures';
import { removeTree } from './tree-removal';

describe('removeTree', () => {
  let base: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ dir: base, cleanup } = await makeTempDir('berth-tree-'));
  });
  afterEach(() => cleanup());

  it('removes read-only and inaccessible directories, counting hard-linked bytes once and following no symlink', async () => {
    const tree = path.join(base, 'layer');
    await mkdir(path.join(tree, 'ro/deep'), { recursive: true });
    await mkdir(path.join(tree, 'sealed'));
    await writeFile(path.join(tree, 'ro/deep/file'), Buffer.alloc(300));
    await writeFile(path.join(tree, 'sealed/file'), Buffer.alloc(200));
    await link(path.join(tree, 'sealed/file'), path.join(tree, 'ro/alias'));
    await writeFile(path.join(base, 'outside'), 'keep me');
    await symlink(path.join(base, 'outside'), path.join(tree, 'ro/escape'));
    await symlink(base, path.join(tree, 'up'));
    await chmod(path.join(tree, 'ro/deep'), 0o555);
    await chmod(path.join(tree, 'ro'), 0o555);
    await chmod(path.join(tree, 'sealed'), 0o000);

    await expect(removeTree(tree)).resolves.toBe(500);

    expect(existsSync(tree)).toBe(false);
    await expect(readFile(path.join(base, 'outside'), 'utf8')).resolves.toBe('keep me');
  });

  it('accepts a tree that is already gone', async () => {
    await expect(removeTree(path.join(base, 'missing'))).resolves.toBe(0);
  });
});
