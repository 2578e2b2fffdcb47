import type { Command } from 'commander';
import { checkSetting, configPath, maskKey, readConfigFile, resolveConfig, settingName, writeConfigFile } from '../config.ts';
import { fields } from '../output.ts';
import type { Ctx, Run } from '../context.ts';

export function configCommands(program: Command, run: Run): void {
  const config = program.command('config').description('Show or change where the CLI connects and with which key');

  config.command('show').description('Show the settings in effect and where each comes from')
    .action(run(async (ctx: Ctx) => {
      const c = await resolveConfig();
      if (ctx.json) {
        ctx.outJson({ serverUrl: c.serverUrl, apiKey: c.apiKey ? maskKey(c.apiKey) : null, sources: c.sources, file: c.file });
        return;
      }
      ctx.out(fields([
        ['serverUrl', `${c.serverUrl}  (${c.sources.serverUrl})`],
        ['apiKey', `${maskKey(c.apiKey)}  (${c.sources.apiKey})`],
        ['file', c.file],
      ]));
    }));

  config.command('set').description('Save a setting: serverUrl or apiKey').argument('<key>').argument('<value>')
    .action(run(async (ctx: Ctx, key: string, value: string) => {
      const name = settingName(key);
      const checked = checkSetting(name, value);
      const file = configPath();
      const saved = await readConfigFile(file);
      await writeConfigFile({ ...saved, [name]: checked }, file);
      const shown = name === 'apiKey' ? maskKey(checked) : checked;
      if (ctx.json) ctx.outJson({ [name]: shown, file });
      else ctx.out(`${name} = ${shown}  (saved in ${file})`);
    }));
}
