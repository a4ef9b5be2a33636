import { Command } from 'commander';
import { CliError, action } from './cli-error';

// Placeholder until the subcommand lands; its owner replaces this file.
export function registerInterfaces(program: Command): void {
  program
    .command('interfaces')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(
      action(() => {
        throw new CliError('interfaces is not built yet', 2);
      }),
    );
}
