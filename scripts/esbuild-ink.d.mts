// Types of scripts/esbuild-ink.mjs (for tests that import it).
import type { Plugin } from 'esbuild';

/** The esbuild plugin that makes Ink bundle as one CommonJS file; root is the project directory. */
export function inkCjsPlugin(root: string): Plugin;
