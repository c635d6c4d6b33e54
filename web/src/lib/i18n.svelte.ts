//! Current language (French by default, remembered) and `t()` to look a message up reactively.
import { en, fr, type MessageKey } from './messages';

export type Lang = 'fr' | 'en';

function initial(): Lang {
  try {
    return window.localStorage.getItem('palabre:lang') === 'en' ? 'en' : 'fr';
  } catch {
    return 'fr';
  }
}

export const locale = $state<{ lang: Lang }>({ lang: initial() });

export function setLang(lang: Lang): void {
  locale.lang = lang;
  document.documentElement.lang = lang;
  try {
    window.localStorage.setItem('palabre:lang', lang);
  } catch {
    // Not remembered without storage.
  }
}

/** The message in the current language, `{name}` placeholders filled from `params`. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const template: string = locale.lang === 'en' ? en[key] : fr[key];
  if (params === undefined) return template;
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}
