/**
 * What the Policies, Keys and Webhooks pages share: a list loaded on arrival and again after
 * every change, actions whose refusals are shown in the server's words, and forms whose
 * validation errors land at their fields. A 401 anywhere signs the tab out instead.
 */
import { createSignal, onMount } from 'solid-js';
import { errorText } from '../api.ts';
import { handleAuthError } from '../session.ts';
import { fieldErrors, type FieldErrors } from './fields.ts';

export function useManagedList<T>(load: () => Promise<T>) {
  const [data, setData] = createSignal<T | null>(null);
  const [error, setError] = createSignal<string | null>(null);
  const [errors, setErrors] = createSignal<FieldErrors>({});

  const reload = async (): Promise<void> => {
    try {
      const value = await load();
      setData(() => value);
    } catch (err) {
      if (!handleAuthError(err)) setError(errorText(err));
    }
  };
  onMount(() => void reload());

  /** Runs a change, then reloads; true when it went through. A refusal goes to `refused`. */
  const run = async (change: () => Promise<unknown>, refused: (err: unknown) => void): Promise<boolean> => {
    setError(null);
    try {
      await change();
      await reload();
      return true;
    } catch (err) {
      if (!handleAuthError(err)) refused(err);
      return false;
    }
  };

  /** A change (enable, revoke, delete…): a refusal is shown above the list. */
  const act = (change: () => Promise<unknown>) => run(change, (err) => setError(errorText(err)));

  /** A form's change: the server's validation errors are kept by field, anything else shown above. */
  const submit = (change: () => Promise<unknown>) => {
    setErrors({});
    return run(change, (err) => {
      const byField = fieldErrors(err);
      setErrors(byField);
      if (!Object.keys(byField).length) setError(errorText(err));
    });
  };

  return { data, error, setError, errors, reload, act, submit };
}
