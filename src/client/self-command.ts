// How to run this same jobctl again (for autostart and --detach): inside a single executable the
// binary is process.execPath itself; otherwise node runs the entry script.

/** The command and leading arguments that start this jobctl. */
export function selfCommand(): { file: string; args: string[] } {
  let isSea = false;
  try {
    // node:sea exists from Node 20.12; isSea() is true only inside a single executable.
    isSea = (require('node:sea') as { isSea(): boolean }).isSea();
  } catch {
    isSea = false;
  }
  if (isSea) return { file: process.execPath, args: [] };
  return { file: process.execPath, args: [...process.execArgv.filter((a) => a.startsWith('--enable-source-maps')), process.argv[1] as string] };
}
