import { createRequire } from 'node:module';
import path from 'node:path';
import PDFDocument from 'pdfkit';
import { btcText, moscowText, rubText, WORDS, type DocLang, type LoanHeader, type Table } from './documents.js';

/**
 * A loan document as PDF (pdfkit), in Russian by default. The PDF's standard fonts have no
 * Cyrillic, so DejaVu Sans (npm `dejavu-fonts-ttf`, a free licence) is embedded; pdfkit subsets it
 * to the glyphs used. A4 landscape: six or seven money columns fit without wrapping.
 */

const fonts = path.join(path.dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
const REGULAR = path.join(fonts, 'DejaVuSans.ttf');
const BOLD = path.join(fonts, 'DejaVuSans-Bold.ttf');

export async function loanPdf(header: LoanHeader, table: Table, lang: DocLang): Promise<Buffer> {
  const w = WORDS[lang];
  const doc = new PDFDocument({
    size: 'A4', layout: 'landscape', margin: 36, bufferPages: true,
    info: { Title: table.title, Author: 'zalog', Subject: `${header.loan} ${header.borrower}`, CreationDate: header.madeAt },
    lang: lang === 'ru' ? 'ru-RU' : 'en-GB', displayTitle: true,
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.registerFont('regular', REGULAR);
  doc.registerFont('bold', BOLD);

  doc.font('bold').fontSize(16).text(table.title);
  doc.moveDown(0.3);
  doc.font('regular').fontSize(10)
    .text(`${w.borrower}: ${header.borrowerName} (${header.borrower})`)
    .text(`${w.madeAt}: ${moscowText(header.madeAt, lang)}`)
    .text(`${w.debtNow}: ${rubText(header.debt, lang)}    ${w.btcNow}: ${btcText(header.btc, lang)}`);
  doc.moveDown(0.8);

  const right = new Set(table.right);
  doc.fontSize(8.5);
  doc.table({
    columnStyles: [...table.widths],
    defaultStyle: { padding: 3, border: 0.5, borderColor: '#999999' },
    data: [
      table.header.map((text, i) => ({ text, font: { src: 'bold' }, backgroundColor: '#eeeeee', align: right.has(i) ? { x: 'right' as const } : { x: 'left' as const }, type: 'TH' as const })),
      ...table.rows.map((row) => row.map((text, i) => ({ text, align: right.has(i) ? { x: 'right' as const } : { x: 'left' as const } }))),
    ],
  });

  // Page numbers and the footer, once every page exists.
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i += 1) {
    doc.switchToPage(i);
    const bottom = doc.page.height - doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    doc.font('regular').fontSize(7.5).fillColor('#555555')
      .text(`${w.footer}  ${w.page} ${i + 1} / ${range.count}`, doc.page.margins.left, bottom + 12, { lineBreak: false });
    doc.page.margins.bottom = 36;
  }
  doc.end();
  return done;
}
