import { Command } from 'commander';
import { CliError, action } from './cli-error';

// Placeholder until the subcommand lands; its owner replaces this file.
export function registerReport(program: Command): void {
  program
    .command('report')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(
      action(() => {
        throw new CliError('report is not built yet', 2);
      }),
    );
}
