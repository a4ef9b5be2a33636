import { Command } from 'commander';
import { CliError, action } from './cli-error';

// Placeholder until the subcommand lands; its owner replaces this file.
export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(
      action(() => {
        throw new CliError('stats is not built yet', 2);
      }),
    );
}
