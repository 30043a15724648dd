import { createI18n } from "vue-i18n";
import zhCN from "./locales/zh-CN";
import en from "./locales/en";

export type Locale = "zh-CN" | "en";

export const i18n = createI18n({
  legacy: false,
  locale: "zh-CN",
  fallbackLocale: "zh-CN",
  messages: { "zh-CN": zhCN, en },
});

export function setLocale(locale: string) {
  i18n.global.locale.value = locale === "en" ? "en" : "zh-CN";
  document.documentElement.lang = i18n.global.locale.value;
}
