// jobctl completion bash|zsh: prints a shell completion script. The script asks jobctl itself for the
// candidates (`jobctl --get-yargs-completions WORDS…`, answered by yargs from the command tree in main),
// so it stays right as commands change and works for the single executable and an npm install alike.
import type { Argv } from 'yargs';
import type { GlobalArgs } from '../context.ts';

/** yargs definition of `completion`. */
export const completionCommand = {
  command: 'completion <shell>',
  describe: 'print a shell completion script (bash or zsh)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('shell', { type: 'string', choices: ['bash', 'zsh'], describe: 'the shell to complete in' })
      .example('$0 completion bash > ~/.local/share/bash-completion/completions/jobctl', 'install for bash')
      .example('$0 completion zsh > "${fpath[1]}/_jobctl"', 'install for zsh'),
  handler: async (args: GlobalArgs & { shell: 'bash' | 'zsh' }): Promise<number> => {
    // yargs picks its bash or zsh template from $SHELL when a parser is created: make a parser for
    // the shell asked for, rather than the one this process happens to run under.
    const { default: yargs } = await import('yargs/yargs');
    const saved = { SHELL: process.env.SHELL, ZSH_NAME: process.env.ZSH_NAME };
    process.env.SHELL = `/bin/${args.shell}`;
    delete process.env.ZSH_NAME;
    try {
      // (yargs takes the program and the command to name in the script; its types omit both.)
      const parser = yargs([]).scriptName('jobctl').completion('completion', false) as unknown as { showCompletionScript($0: string, cmd: string): void };
      parser.showCompletionScript('jobctl', `completion ${args.shell}`);
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    return 0;
  },
};
