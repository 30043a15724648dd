import { createRouter, createWebHashHistory } from "vue-router";
import RecordsList from "./views/RecordsList.vue";
import VisitForm from "./views/VisitForm.vue";
import SettingsView from "./views/SettingsView.vue";
import SyncView from "./views/SyncView.vue";

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: "/", name: "records", component: RecordsList },
    { path: "/record/:id", name: "record", component: VisitForm, props: true },
    { path: "/sync", name: "sync", component: SyncView },
    { path: "/settings", name: "settings", component: SettingsView },
  ],
});
