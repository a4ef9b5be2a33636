import { Command } from 'commander';
import { CliError, action } from './cli-error';

// Placeholder until the subcommand lands; its owner replaces this file.
export function registerLive(program: Command): void {
  program
    .command('live')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(
      action(() => {
        throw new CliError('live is not built yet', 2);
      }),
    );
}
