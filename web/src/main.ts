//! Entry point: mounts the router and registers the service worker that keeps the app offline.
import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';

document.documentElement.lang = window.localStorage.getItem('palabre:lang') === 'en' ? 'en' : 'fr';

const target = document.getElementById('app');
if (target !== null) mount(App, { target });

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  void navigator.serviceWorker.register('/sw.js').catch(() => {
    // Without a service worker the app still works online; only offline reloads are lost.
  });
}
