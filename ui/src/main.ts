import { createApp } from "vue";
import Vant from "vant";
// Mouse and pen on desktops become touch events, so the signature pad and swipes work there too.
import "@vant/touch-emulator";
import "vant/lib/index.css";
import "./style.css";
import App from "./App.vue";
import { router } from "./router";
import { i18n } from "./i18n";

createApp(App).use(router).use(i18n).use(Vant).mount("#app");
