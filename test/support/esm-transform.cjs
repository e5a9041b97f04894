/**
 * NestJS 12 ships as ES modules, which Jest on Node 20 cannot `require`. This
 * transformer turns those packages' files into CommonJS for the specs (the built
 * app loads them natively): TypeScript's transpiler does the module syntax, and
 * `import.meta.url` becomes the file's URL.
 */
const ts = require('typescript');
const { createHash } = require('node:crypto');

module.exports = {
  process(source, filename) {
    const patched = source
      // CommonJS has its own require; a module's `const require = createRequire(import.meta.url)` would clash with it.
      .replace(/^const require = (?:\(0, [\w.]+\)|[\w.]+)\(import\.meta\.url\);?$/m, '')
      .replace(/\bimport\.meta\.url\b/g, 'require("node:url").pathToFileURL(__filename).href');
    const out = ts.transpileModule(patched, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, allowJs: true, esModuleInterop: true, sourceMap: false },
    });
    return { code: out.outputText };
  },
  getCacheKey(source, filename) {
    return createHash('sha256').update('esm-transform-2').update(filename).update(source).digest('hex');
  },
};
