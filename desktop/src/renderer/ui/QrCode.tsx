import { useMemo } from 'react';
import QRCode from 'qrcode';

/**
 * The authenticator key as a QR code, computed here and drawn as one SVG path: nothing is
 * fetched, no data: URL or canvas export is needed, and the CSP stays `img-src 'self'`.
 */
export function QrCode({ text, size = 208, label }: { text: string; size?: number; label: string }) {
  const { path, modules } = useMemo(() => {
    const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
    const n = qr.modules.size;
    let d = '';
    for (let row = 0; row < n; row++) {
      for (let col = 0; col < n; col++) {
        if (qr.modules.get(row, col)) d += `M${col + 4} ${row + 4}h1v1h-1z`;
      }
    }
    return { path: d, modules: n + 8 };
  }, [text]);
  return (
    <svg className="qr" width={size} height={size} viewBox={`0 0 ${modules} ${modules}`} role="img" aria-label={label} shapeRendering="crispEdges">
      <rect width={modules} height={modules} fill="#fff" />
      <path d={path} fill="#111" />
    </svg>
  );
}
