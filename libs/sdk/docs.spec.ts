// docs/sdk.md shows the SDK in TypeScript blocks that must keep compiling: each is
// also in examples/quickstart.ts (which the types check compiles), word for word.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const guide = readFileSync(path.join(__dirname, '..', '..', 'docs', 'sdk.md'), 'utf8');
const example = readFileSync(path.join(__dirname, 'examples', 'quickstart.ts'), 'utf8');

describe('docs/sdk.md', () => {
  const blocks = [...guide.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);

  it('has its TypeScript examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(7);
  });

  it.each(blocks.map((block) => [block.split('\n')[0], block]))('shows %s as examples/quickstart.ts has it', (_first, block) => {
    expect(example).toContain(block);
  });
});
