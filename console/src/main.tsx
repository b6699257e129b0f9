/** The web console's entry point: theme, then the app. */
import { render } from 'preact';
import { App } from './app.js';
import { applyStoredTheme } from './ui/theme.js';
import './styles.css';

applyStoredTheme();
const root = document.getElementById('app');
if (root) render(<App />, root);
