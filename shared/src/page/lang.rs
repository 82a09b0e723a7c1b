//! The payment page's two languages and every text it shows.

use crate::domain::charge::FailureCode;
use crate::validate::CardProblem;

/// A language of the payment page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Th,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Self::Th => "th",
            Self::En => "en",
        }
    }

    /// The other language, offered as a switch on every page.
    pub fn other(self) -> Self {
        match self {
            Self::Th => Self::En,
            Self::En => Self::Th,
        }
    }

    /// The page's language: `choice` (the page's own switch, `?lang=` or the form's `lang`) when
    /// it names one, else the first of Thai and English in the buyer's `Accept-Language` by
    /// preference, else Thai, the first market's language (link-preview fetchers and scanners
    /// usually send no `Accept-Language`).
    pub fn choose(choice: Option<&str>, accept_language: Option<&str>) -> Self {
        match choice.map(str::trim) {
            Some(c) if c.eq_ignore_ascii_case("th") => return Self::Th,
            Some(c) if c.eq_ignore_ascii_case("en") => return Self::En,
            _ => {}
        }
        let mut best: Option<(f32, Self)> = None;
        for range in accept_language.unwrap_or_default().split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let primary = tag.split('-').next().unwrap_or_default();
            let lang = if primary.eq_ignore_ascii_case("th") {
                Self::Th
            } else if primary.eq_ignore_ascii_case("en") {
                Self::En
            } else {
                continue;
            };
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Self::Th, |(_, lang)| lang)
    }

    pub fn t(self) -> &'static Texts {
        match self {
            Self::Th => &TH,
            Self::En => &EN,
        }
    }
}

/// Every fixed text of the page, in one language.
pub struct Texts {
    pub language_name: &'static str,
    pub page_title: &'static str,
    pub pay: &'static str,
    pub name: &'static str,
    pub number: &'static str,
    pub expiry: &'static str,
    pub month: &'static str,
    pub year: &'static str,
    pub security_code: &'static str,
    pub test_mode: &'static str,
    pub test_cards_hint: &'static str,
    pub fix_below: &'static str,
    pub paid_title: &'static str,
    pub paid_body: &'static str,
    pub receipt_title: &'static str,
    pub receipt_body: &'static str,
    pub receipt_amount: &'static str,
    pub receipt_charge: &'static str,
    pub receipt_date: &'static str,
    pub receipt_card: &'static str,
    /// How a receipt's charge was paid: a card, or PromptPay.
    pub receipt_method: &'static str,
    pub declined_title: &'static str,
    pub try_again: &'static str,
    pub gone_title: &'static str,
    pub gone_body: &'static str,
    /// The receipt's way back to the merchant's `after_payment_uri`; `{host}` is its host.
    pub back_to_shop: &'static str,
    /// The merchant's `expires_at` has passed.
    pub link_expired_title: &'static str,
    pub link_expired_body: &'static str,
    pub unknown_title: &'static str,
    pub unknown_body: &'static str,
    pub live_disabled: &'static str,
    /// A tokenized card form without JavaScript: it cannot send the card to the gateway.
    pub card_needs_script: &'static str,
    /// The gateway's vault could not take the card (its own message follows when it gives one).
    pub card_token_failed: &'static str,
    pub not_test_card: &'static str,
    pub cross_site: &'static str,
    pub busy: &'static str,
    pub broken: &'static str,
    pub qr_caption: &'static str,
    pub busy_not_charged: &'static str,
    pub broken_not_charged: &'static str,
    pub nothing_charged: &'static str,
    pub form_expired: &'static str,
    pub expired_title: &'static str,
    pub reversed_title: &'static str,
    pub abandoned_title: &'static str,
    pub card_heading: &'static str,
    pub promptpay_heading: &'static str,
    pub promptpay_pay: &'static str,
    pub promptpay_name: &'static str,
    pub promptpay_not_enabled: &'static str,
    pub promptpay_title: &'static str,
    pub promptpay_body: &'static str,
    pub promptpay_expires: &'static str,
    pub promptpay_test_qr: &'static str,
    /// The gateway's QR code could not be had just now; the page asks again as it refreshes.
    pub promptpay_qr_unavailable: &'static str,
    pub promptpay_qr_label: &'static str,
    pub held_title: &'static str,
    pub held_body: &'static str,
    /// A limited link whose places are all taken, some by payments in flight.
    pub full_title: &'static str,
    pub full_body: &'static str,
    /// A limited link that made all its payments; `{limit}` is its limit.
    pub used_up_title: &'static str,
    pub used_up_body: &'static str,
    pub pending_title: &'static str,
    pub pending_body: &'static str,
    pub continue_to_bank: &'static str,
    pub check_payment: &'static str,
    pub cancel_payment: &'static str,
    pub unconfirmed_title: &'static str,
    pub unconfirmed_body: &'static str,
    pub check_again: &'static str,
    pub too_many_title: &'static str,
    pub too_many_body: &'static str,
    pub bank_title: &'static str,
    pub bank_body: &'static str,
    pub bank_merchant: &'static str,
    pub bank_authenticate: &'static str,
    pub bank_fail: &'static str,
    pub auto_check: &'static str,
    pub stop_checking: &'static str,
    pub checking_off: &'static str,
}

impl Texts {
    pub fn problem(&self, problem: CardProblem) -> &'static str {
        let th = std::ptr::eq(self, &TH);
        match (problem, th) {
            (CardProblem::NameMissing, true) => "กรุณากรอกชื่อบนบัตร",
            (CardProblem::NameMissing, false) => "Enter the name on the card.",
            (CardProblem::NameInvalid, true) => "ชื่อบนบัตรยาวเกินไปหรือมีอักขระที่ใช้ไม่ได้",
            (CardProblem::NameInvalid, false) => {
                "The name is too long or has characters that cannot be used."
            }
            (CardProblem::NumberInvalid, true) => "หมายเลขบัตรไม่ถูกต้อง",
            (CardProblem::NumberInvalid, false) => "This card number is not valid.",
            (CardProblem::BrandUnsupported, true) => {
                "รับเฉพาะบัตร Visa, Mastercard, JCB, American Express และ UnionPay"
            }
            (CardProblem::BrandUnsupported, false) => {
                "Only Visa, Mastercard, JCB, American Express and UnionPay cards are accepted."
            }
            (CardProblem::ExpiryInvalid, true) => "วันหมดอายุไม่ถูกต้อง",
            (CardProblem::ExpiryInvalid, false) => "This expiry date is not valid.",
            (CardProblem::Expired, true) => "บัตรนี้หมดอายุแล้ว",
            (CardProblem::Expired, false) => "This card has expired.",
            (CardProblem::SecurityCodeInvalid, true) => {
                "รหัสความปลอดภัยไม่ถูกต้อง (3 หลักด้านหลังบัตร หรือ 4 หลักด้านหน้าบัตร American Express)"
            }
            (CardProblem::SecurityCodeInvalid, false) => {
                "The security code is not valid (3 digits on the back, or 4 on the front of an American Express card)."
            }
        }
    }

    pub fn failure(&self, code: FailureCode) -> &'static str {
        let th = std::ptr::eq(self, &TH);
        match (code, th) {
            (FailureCode::InsufficientFund, true) => "ยอดเงินในบัญชีไม่พอ หรือบัตรเต็มวงเงินแล้ว",
            (FailureCode::InsufficientFund, false) => {
                "There are not enough funds in the account, or the card has reached its credit limit."
            }
            (FailureCode::StolenOrLostCard, true) => "บัตรนี้ถูกแจ้งว่าสูญหายหรือถูกขโมย",
            (FailureCode::StolenOrLostCard, false) => "This card was reported lost or stolen.",
            (FailureCode::FailedProcessing, true) => "ไม่สามารถดำเนินการชำระเงินได้ กรุณาลองอีกครั้ง",
            (FailureCode::FailedProcessing, false) => {
                "The payment could not be processed. Please try again."
            }
            (FailureCode::PaymentRejected, true) => "ธนาคารผู้ออกบัตรปฏิเสธการชำระเงินนี้",
            (FailureCode::PaymentRejected, false) => "The card's bank rejected this payment.",
            (FailureCode::FailedFraudCheck, true) => "การชำระเงินไม่ผ่านการตรวจสอบความปลอดภัย",
            (FailureCode::FailedFraudCheck, false) => "The payment did not pass the fraud check.",
            (FailureCode::InvalidAccountNumber, true) => "หมายเลขบัตรนี้ไม่ตรงกับบัญชีที่ใช้งานได้",
            (FailureCode::InvalidAccountNumber, false) => {
                "This card number does not belong to a valid account."
            }
            (FailureCode::InvalidSecurityCode, true) => "รหัสความปลอดภัยไม่ถูกต้อง",
            (FailureCode::InvalidSecurityCode, false) => "The security code is incorrect.",
        }
    }
}

static TH: Texts = Texts {
    language_name: "ไทย",
    page_title: "ชำระเงิน",
    pay: "ชำระเงิน",
    name: "ชื่อบนบัตร",
    number: "หมายเลขบัตร",
    expiry: "วันหมดอายุ",
    month: "เดือน (MM)",
    year: "ปี (YYYY)",
    security_code: "รหัสความปลอดภัย (CVV)",
    test_mode: "โหมดทดสอบ: ไม่มีการเรียกเก็บเงินจริง",
    test_cards_hint: "ใช้บัตรทดสอบ เช่น 4242 4242 4242 4242 วันหมดอายุใดก็ได้ในอนาคต และรหัสใดก็ได้",
    fix_below: "กรุณาแก้ไขข้อมูลด้านล่าง",
    paid_title: "ลิงก์นี้ชำระเงินแล้ว",
    paid_body: "ลิงก์ชำระเงินนี้ใช้ได้ครั้งเดียวและมีการชำระเงินแล้ว ไม่ต้องชำระซ้ำ",
    receipt_title: "ชำระเงินสำเร็จ",
    receipt_body: "ขอบคุณ การชำระเงินของคุณเสร็จสมบูรณ์",
    receipt_amount: "ยอดชำระ",
    receipt_charge: "หมายเลขรายการ",
    receipt_date: "วันที่",
    receipt_card: "บัตร",
    receipt_method: "ชำระด้วย",
    declined_title: "การชำระเงินไม่สำเร็จ",
    try_again: "ลองอีกครั้งด้วยบัตรใบเดิมหรือใบอื่นด้านล่าง",
    gone_title: "ลิงก์นี้ใช้ไม่ได้แล้ว",
    gone_body: "ร้านค้าได้ยกเลิกลิงก์ชำระเงินนี้แล้ว กรุณาติดต่อร้านค้า",
    back_to_shop: "กลับไปที่ร้านค้า ({host})",
    link_expired_title: "ลิงก์นี้หมดอายุแล้ว",
    link_expired_body: "ลิงก์ชำระเงินนี้หมดเวลาชำระตามที่ร้านค้ากำหนดแล้ว ไม่มีการเรียกเก็บเงิน กรุณาติดต่อร้านค้า",
    unknown_title: "ไม่พบลิงก์ชำระเงินนี้",
    unknown_body: "กรุณาตรวจสอบลิงก์อีกครั้ง หรือติดต่อร้านค้าที่ส่งลิงก์ให้คุณ",
    live_disabled: "ยังไม่เปิดรับชำระเงินจริงผ่านลิงก์นี้",
    card_needs_script: "การชำระด้วยบัตรต้องเปิดใช้ JavaScript เพื่อส่งข้อมูลบัตรไปยังผู้ให้บริการชำระเงินโดยตรง",
    card_token_failed: "ส่งข้อมูลบัตรไม่สำเร็จ โปรดตรวจสอบแล้วลองอีกครั้ง",
    not_test_card: "ในโหมดทดสอบ ใช้ได้เฉพาะบัตรทดสอบเท่านั้น ห้ามใช้บัตรจริง",
    cross_site: "คำขอนี้ไม่ได้ส่งมาจากหน้าชำระเงิน จึงไม่ได้ดำเนินการ กรุณาเปิดลิงก์แล้วลองอีกครั้ง",
    busy: "ระบบไม่ว่างชั่วคราว กรุณาลองอีกครั้งในอีกสักครู่",
    broken: "เกิดข้อผิดพลาดในระบบ กรุณาลองอีกครั้งภายหลัง",
    qr_caption: "สแกนเพื่อเปิดหน้านี้บนโทรศัพท์",
    busy_not_charged: "ระบบไม่ว่างชั่วคราว ยังไม่มีการเรียกเก็บเงิน กรุณาลองอีกครั้ง",
    broken_not_charged: "เกิดข้อผิดพลาดในระบบ ยังไม่มีการเรียกเก็บเงิน กรุณาลองอีกครั้งภายหลัง",
    nothing_charged: "ไม่มีการเรียกเก็บเงิน",
    form_expired: "แบบฟอร์มนี้หมดอายุแล้ว ยังไม่มีการเรียกเก็บเงิน กรุณากรอกข้อมูลอีกครั้ง",
    expired_title: "การชำระเงินนี้หมดเวลาแล้ว",
    reversed_title: "การชำระเงินนี้ถูกยกเลิกแล้ว",
    abandoned_title: "การชำระเงินของคุณไม่สำเร็จ",
    card_heading: "ชำระด้วยบัตร",
    promptpay_heading: "พร้อมเพย์",
    promptpay_pay: "ชำระด้วยพร้อมเพย์ (สแกนคิวอาร์)",
    promptpay_name: "พร้อมเพย์",
    promptpay_not_enabled: "ยังไม่เปิดรับชำระด้วยพร้อมเพย์สำหรับการชำระเงินจริง",
    promptpay_title: "สแกนเพื่อชำระด้วยพร้อมเพย์",
    promptpay_body: "เปิดแอปธนาคาร สแกนคิวอาร์โค้ดนี้ แล้วชำระ {amount} หน้านี้จะแสดงผลเองเมื่อได้รับเงินแล้ว",
    promptpay_expires: "กรุณาชำระภายในเวลา {time} (อีกประมาณ {minutes} นาที)",
    promptpay_test_qr: "โหมดทดสอบ: คิวอาร์โค้ดนี้ใช้ชำระเงินไม่ได้ ร้านค้าทดสอบผลการชำระได้ด้วย API (mark_as_paid)",
    promptpay_qr_unavailable: "ยังแสดงคิวอาร์โค้ดไม่ได้ในขณะนี้ หน้านี้จะลองอีกครั้งเอง",
    promptpay_qr_label: "คิวอาร์โค้ดพร้อมเพย์",
    held_title: "มีผู้กำลังชำระเงินผ่านลิงก์นี้อยู่",
    held_body: "ลิงก์นี้ชำระได้ครั้งเดียว หากการชำระเงินนั้นไม่สำเร็จ จะชำระผ่านลิงก์นี้ได้อีกครั้งหลังเวลา {time}",
    full_title: "สิทธิ์ที่เหลือของลิงก์นี้กำลังมีผู้ชำระเงินอยู่",
    full_body: "ลิงก์นี้รับชำระเงินได้จำนวนจำกัด และสิทธิ์ที่เหลือทั้งหมดกำลังมีผู้ชำระเงินอยู่ หากมีรายการใดไม่สำเร็จ กรุณาลองอีกครั้งในอีกสักครู่ ยังไม่มีการเรียกเก็บเงิน",
    used_up_title: "ลิงก์นี้รับชำระเงินครบจำนวนแล้ว",
    used_up_body: "ลิงก์นี้รับชำระเงินครบ {limit} ครั้งตามที่ร้านค้ากำหนดแล้ว และไม่รับชำระเพิ่ม ไม่มีการเรียกเก็บเงิน กรุณาติดต่อร้านค้า",
    pending_title: "รอการยืนยันจากธนาคาร",
    pending_body: "ธนาคารของคุณขอให้ยืนยันการชำระเงินนี้ ยังไม่มีการเรียกเก็บเงิน",
    continue_to_bank: "ไปยืนยันกับธนาคาร",
    check_payment: "ตรวจสอบการชำระเงิน",
    cancel_payment: "ยกเลิกและเลือกวิธีชำระอื่น",
    unconfirmed_title: "ยังยืนยันการชำระเงินของคุณไม่ได้",
    unconfirmed_body: "การชำระเงินของคุณอาจยังอยู่ระหว่างดำเนินการ กรุณาอย่าชำระซ้ำ ตรวจสอบอีกครั้งในอีกสักครู่ แล้วระบบจะแสดงผลให้ทราบ",
    check_again: "ตรวจสอบอีกครั้ง",
    too_many_title: "การชำระเงินไม่สำเร็จหลายครั้งเกินไป",
    too_many_body: "เพื่อความปลอดภัย ระบบหยุดรับการชำระเงินชั่วคราว กรุณาลองอีกครั้งในอีกประมาณ {minutes} นาที ยังไม่มีการเรียกเก็บเงิน",
    bank_title: "ยืนยันตัวตน 3-D Secure (ทดสอบ)",
    bank_body: "หน้านี้จำลองหน้ายืนยันตัวตนของธนาคารผู้ออกบัตรในโหมดทดสอบ เลือกผลการยืนยันตัวตน โหมดทดสอบไม่มีการเรียกเก็บเงินจริง",
    bank_merchant: "ร้านค้า",
    bank_authenticate: "ยืนยันตัวตน (Authenticate)",
    bank_fail: "ไม่ผ่าน (Fail)",
    auto_check: "หน้านี้ตรวจสอบการชำระเงินให้เองทุก {seconds} วินาที",
    stop_checking: "หยุดตรวจสอบอัตโนมัติ",
    checking_off: "ปิดการตรวจสอบอัตโนมัติแล้ว กดตรวจสอบการชำระเงินเมื่อชำระเสร็จ",
};

static EN: Texts = Texts {
    language_name: "English",
    page_title: "Payment",
    pay: "Pay",
    name: "Name on card",
    number: "Card number",
    expiry: "Expiry date",
    month: "Month (MM)",
    year: "Year (YYYY)",
    security_code: "Security code (CVV)",
    test_mode: "Test mode: no real money is charged",
    test_cards_hint: "Use a test card such as 4242 4242 4242 4242, any future expiry date and any code.",
    fix_below: "Please correct the details below.",
    paid_title: "This link has been paid",
    paid_body: "This payment link can be used once, and it has been paid. There is nothing more to pay.",
    receipt_title: "Payment successful",
    receipt_body: "Thank you. Your payment is complete.",
    receipt_amount: "Amount",
    receipt_charge: "Reference",
    receipt_date: "Date",
    receipt_card: "Card",
    receipt_method: "Paid with",
    declined_title: "Payment failed",
    try_again: "Try again with the same card or another one below.",
    gone_title: "This link is no longer available",
    gone_body: "The merchant has withdrawn this payment link. Please contact them.",
    back_to_shop: "Back to the shop ({host})",
    link_expired_title: "This link has expired",
    link_expired_body: "The time the merchant set for paying this link has passed. Nothing was charged. Please contact them.",
    unknown_title: "Payment link not found",
    unknown_body: "Check the link again, or contact the merchant who sent it to you.",
    live_disabled: "Payments through this link are not enabled yet.",
    card_needs_script: "Paying by card needs JavaScript, which sends your card straight to the payment provider.",
    card_token_failed: "Your card could not be sent. Check it and try again.",
    not_test_card: "In test mode only test cards can be used. Never enter a real card.",
    cross_site: "This request did not come from the payment page, so nothing was done. Open the link and try again.",
    busy: "The service is busy. Please try again in a moment.",
    broken: "Something went wrong on our side. Please try again later.",
    qr_caption: "Scan to open this page on a phone",
    busy_not_charged: "The service is busy. Nothing was charged. Please try again.",
    broken_not_charged: "Something went wrong on our side. Nothing was charged. Please try again later.",
    nothing_charged: "Nothing was charged.",
    form_expired: "This payment form has expired. Nothing was charged. Please enter your details again.",
    expired_title: "This payment expired",
    reversed_title: "This payment was reversed",
    abandoned_title: "Your payment did not go through",
    card_heading: "Pay by card",
    promptpay_heading: "PromptPay",
    promptpay_pay: "Pay with PromptPay (scan a QR code)",
    promptpay_name: "PromptPay",
    promptpay_not_enabled: "PromptPay is not enabled for live payments yet.",
    promptpay_title: "Scan to pay with PromptPay",
    promptpay_body: "Open your banking app, scan this QR code and pay {amount}. This page shows the result by itself once the payment arrives.",
    promptpay_expires: "Pay by {time} (in about {minutes} minutes).",
    promptpay_test_qr: "Test mode: this QR code cannot be paid. The merchant tests the outcome with the API (mark_as_paid).",
    promptpay_qr_unavailable: "The QR code cannot be shown just now. This page tries again by itself.",
    promptpay_qr_label: "PromptPay QR code",
    held_title: "Someone is paying this link right now",
    held_body: "This link can be paid once. If that payment does not go through, the link can be paid again after {time}.",
    full_title: "Every place left on this link is being paid for right now",
    full_body: "This link takes a limited number of payments, and all those left are being paid right now. If one of them does not go through, a place comes free: try again in a few minutes. Nothing was charged.",
    used_up_title: "This link has taken all its payments",
    used_up_body: "The merchant's limit for this link, {limit}, has been reached: it takes no more payments. Nothing was charged. Please contact them.",
    pending_title: "Waiting for your bank",
    pending_body: "Your bank asked you to confirm this payment. Nothing has been charged yet.",
    continue_to_bank: "Continue to your bank",
    check_payment: "Check payment",
    cancel_payment: "Cancel and pay another way",
    unconfirmed_title: "We could not confirm your payment yet",
    unconfirmed_body: "Your payment may still be going through. Do not pay again: check in a moment, and we will show you how it ended.",
    check_again: "Check again",
    too_many_title: "Too many failed payments",
    too_many_body: "For your safety, payments are paused. Try again in about {minutes} minutes. Nothing was charged.",
    bank_title: "Test 3-D Secure",
    bank_body: "This page stands in for the card's bank in test mode. Choose how the authentication ends. Nothing is charged in test mode.",
    bank_merchant: "Merchant",
    bank_authenticate: "Authenticate",
    bank_fail: "Fail",
    auto_check: "This page checks for your payment by itself every {seconds} seconds.",
    stop_checking: "Stop checking automatically",
    checking_off: "Automatic checking is off. Use Check payment once you have paid.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_speaks_the_buyers_language() {
        assert_eq!(
            Lang::choose(None, Some("th-TH,th;q=0.9,en;q=0.8")),
            Lang::Th
        );
        assert_eq!(
            Lang::choose(None, Some("en-US,en;q=0.9,th;q=0.5")),
            Lang::En
        );
        assert_eq!(Lang::choose(None, Some("ja,en;q=0.5")), Lang::En);
        assert_eq!(Lang::choose(None, Some("en;q=0.2, th;q=0.7")), Lang::Th);
        assert_eq!(Lang::choose(None, Some("en;q=0")), Lang::Th, "q=0 refuses");
        assert_eq!(Lang::choose(None, Some("fr")), Lang::Th);
        assert_eq!(Lang::choose(None, None), Lang::Th);
        assert_eq!(
            Lang::choose(Some("EN"), Some("th")),
            Lang::En,
            "the switch wins"
        );
        assert_eq!(Lang::choose(Some("xx"), Some("en")), Lang::En);
        assert_eq!(Lang::Th.other(), Lang::En);
    }

    #[test]
    fn every_problem_and_failure_has_both_languages() {
        for lang in [Lang::Th, Lang::En] {
            let t = lang.t();
            for p in [
                CardProblem::NameMissing,
                CardProblem::NameInvalid,
                CardProblem::NumberInvalid,
                CardProblem::BrandUnsupported,
                CardProblem::ExpiryInvalid,
                CardProblem::Expired,
                CardProblem::SecurityCodeInvalid,
            ] {
                assert!(!t.problem(p).is_empty());
            }
            for f in FailureCode::ALL {
                assert!(!t.failure(f).is_empty());
            }
        }
        assert_ne!(
            Lang::Th.t().failure(FailureCode::InsufficientFund),
            Lang::En.t().failure(FailureCode::InsufficientFund)
        );
    }
}
