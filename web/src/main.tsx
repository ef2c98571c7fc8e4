import { render } from 'preact';
import { loadConfig } from './config';
import { Root } from './root';

const config = await loadConfig();
const mount = document.getElementById('app');
if (mount) {
  mount.textContent = '';
  render(<Root config={config} />, mount);
}
