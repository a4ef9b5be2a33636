import { Command } from 'commander';
import { CliError, action } from './cli-error';

// Placeholder until the subcommand lands; its owner replaces this file.
export function registerAnalyze(program: Command): void {
  program
    .command('analyze')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(
      action(() => {
        throw new CliError('analyze is not built yet', 2);
      }),
    );
}
