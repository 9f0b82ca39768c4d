import { useState } from 'react';

/**
 * A secret shown once, with a copy button. The clipboard API needs a secure context, which a robot
 * LAN over plain HTTP is not; then the text is selected and copied the old way.
 */
export function Secret({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState('');
  const copy = async () => {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard API');
      await navigator.clipboard.writeText(value);
      setCopied('Copied');
    } catch {
      const el = document.getElementById('secret-value');
      const range = document.createRange();
      if (el) range.selectNodeContents(el);
      const sel = window.getSelection();
      sel?.removeAllRanges();
      sel?.addRange(range);
      setCopied(document.execCommand('copy') ? 'Copied' : 'Selected: press Ctrl+C to copy');
    }
  };
  return (
    <div className="secret" role="status">
      <p>
        {label} (shown once; store it now): <code id="secret-value">{value}</code>{' '}
        <button type="button" onClick={copy}>
          Copy secret
        </button>{' '}
        <span aria-live="polite">{copied}</span>
      </p>
    </div>
  );
}
