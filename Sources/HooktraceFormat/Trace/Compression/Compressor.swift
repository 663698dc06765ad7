internal import CZlib
internal import CZstd

/// Compresses block payloads with one codec, reusing its C context across blocks.
///
/// Owns a `ZSTD_CCtx` (freed with `ZSTD_freeCCtx`) or a deflate `z_stream`
/// (freed with `deflateEnd`).
final class Compressor {
    let codec: Codec
    let level: Int32
    private var zstdContext: OpaquePointer?
    private var zlibStream: UnsafeMutablePointer<z_stream>?
    /// Where compressed bytes go: memory of the compressor's own, reused from block to block
    /// (each block's result was an array copied out of a reused array, then copied again).
    private var output = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    init(codec: Codec, level: Int32) throws(HooktraceError) {
        self.codec = codec
        self.level = level
        switch codec {
        case .none:
            break
        case .zstd:
            guard let ctx = ZSTD_createCCtx() else {
                throw HooktraceError(.codec, "zstd could not allocate a compression context")
            }
            zstdContext = ctx
        case .zlib:
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            let rc = hooktrace_deflateInit(stream, level)
            guard rc == Z_OK else {
                stream.deallocate()
                throw HooktraceError(.codec, "zlib deflateInit failed (code \(rc))")
            }
            zlibStream = stream
        }
    }

    deinit {
        output.deallocate()
        if let zstdContext { ZSTD_freeCCtx(zstdContext) }
        if let zlibStream {
            deflateEnd(zlibStream)
            zlibStream.deallocate()
        }
    }

    /// Compresses `input`.
    func compress(_ input: [UInt8]) throws(HooktraceError) -> [UInt8] {
        let result = input.withUnsafeBytes { buf in Result { () throws(HooktraceError) in Array(try compressed(buf)) } }
        return try result.get()
    }

    /// Makes `output` hold at least `bound` bytes.
    private func reserve(_ bound: Int) {
        guard output.count < bound else { return }
        output.deallocate()
        output = .allocate(byteCount: bound, alignment: 16)
    }

    /// Compresses `input` into memory of the compressor's own: the result is valid until
    /// the next call (the input itself for codec `none`).
    ///
    /// The corresponding C calls are `ZSTD_compressCCtx` and `deflate(…, Z_FINISH)`.
    func compressed(_ input: UnsafeRawBufferPointer) throws(HooktraceError) -> UnsafeRawBufferPointer {
        switch codec {
        case .none:
            return input
        case .zstd:
            reserve(ZSTD_compressBound(input.count))
            let written = ZSTD_compressCCtx(zstdContext, output.baseAddress, output.count, input.baseAddress, input.count, level)
            if ZSTD_isError(written) != 0 {
                throw HooktraceError(.codec, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
            }
            return UnsafeRawBufferPointer(rebasing: output[0..<written])
        case .zlib:
            guard let stream = zlibStream else { return input }
            reserve(Int(deflateBound(stream, uLong(input.count))))
            deflateReset(stream)
            attach(stream, input, output)
            let rc = deflate(stream, Z_FINISH)
            let produced = output.count - Int(stream.pointee.avail_out)
            detach(stream)
            guard rc == Z_STREAM_END else {
                throw HooktraceError(.codec, "zlib deflate failed (code \(rc))")
            }
            return UnsafeRawBufferPointer(rebasing: output[0..<produced])
        }
    }
}

/// Decompresses block payloads, never producing more than the declared raw size.
final class Decompressor {
    private var zstdContext: OpaquePointer?
    private var zlibStream: UnsafeMutablePointer<z_stream>?

    init() {}

    deinit {
        if let zstdContext { ZSTD_freeDCtx(zstdContext) }
        if let zlibStream {
            inflateEnd(zlibStream)
            zlibStream.deallocate()
        }
    }

    /// Decompresses `input` into `output`, which has exactly the declared raw size.
    ///
    /// Fails (rather than growing) when the data would decompress to more or fewer bytes
    /// than declared; this bounds memory on hostile input. The corresponding C calls are
    /// `ZSTD_decompressDCtx` and `inflate(…, Z_FINISH)`.
    func decompress(
        codec: Codec, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) throws(DecodeFailure) {
        switch codec {
        case .none:
            guard input.count == output.count else { throw .invalid("stored size \(input.count) differs from raw size \(output.count)") }
            if input.count > 0 { output.copyMemory(from: input) }
        case .zstd:
            if zstdContext == nil { zstdContext = ZSTD_createDCtx() }
            guard let ctx = zstdContext else { throw .invalid("zstd could not allocate a decompression context") }
            // The frame may declare its own content size; it must match the block's.
            let declared = ZSTD_getFrameContentSize(input.baseAddress, input.count)
            if declared == ZSTD_CONTENTSIZE_ERROR { throw .invalid("the zstd frame header is invalid") }
            if declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != UInt64(output.count) {
                throw .invalid("the zstd frame declares \(declared) bytes, the block \(output.count)")
            }
            // Exactly one frame: a second frame (or bytes after the first) is not what a writer writes.
            let frameSize = ZSTD_findFrameCompressedSize(input.baseAddress, input.count)
            if ZSTD_isError(frameSize) != 0 { throw .invalid("the zstd frame is invalid: \(String(cString: ZSTD_getErrorName(frameSize)))") }
            guard frameSize == input.count else {
                throw .invalid("the block holds \(input.count - frameSize) byte(s) after its zstd frame (one frame per block)")
            }
            let n = ZSTD_decompressDCtx(ctx, output.baseAddress, output.count, input.baseAddress, input.count)
            if ZSTD_isError(n) != 0 {
                throw .invalid("zstd: \(String(cString: ZSTD_getErrorName(n)))")
            }
            guard n == output.count else { throw .invalid("zstd produced \(n) bytes, the block declares \(output.count)") }
        case .zlib:
            if zlibStream == nil {
                let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
                stream.initialize(to: z_stream())
                guard hooktrace_inflateInit(stream) == Z_OK else {
                    stream.deallocate()
                    throw .invalid("zlib inflateInit failed")
                }
                zlibStream = stream
            }
            guard let stream = zlibStream else { throw .invalid("zlib unavailable") }
            inflateReset(stream)
            attach(stream, input, output)
            let rc = inflate(stream, Z_FINISH)
            let produced = output.count - Int(stream.pointee.avail_out)
            let unread = Int(stream.pointee.avail_in)
            let message = stream.pointee.msg.map { String(cString: $0) }
            detach(stream)
            guard rc == Z_STREAM_END else {
                if rc == Z_BUF_ERROR || rc == Z_OK {
                    throw .invalid("zlib data is longer than the block's declared \(output.count) bytes or incomplete")
                }
                throw .invalid("zlib: \(message ?? "inflate failed with code \(rc)")")
            }
            guard produced == output.count else { throw .invalid("zlib produced \(produced) bytes, the block declares \(output.count)") }
            guard unread == 0 else { throw .invalid("the block holds \(unread) byte(s) after its zlib stream (one stream per block)") }
        }
    }
}

/// Points a zlib stream at one whole input and output buffer, for one deflate or inflate.
private func attach(_ stream: UnsafeMutablePointer<z_stream>, _ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) {
    stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
    stream.pointee.avail_in = uInt(input.count)
    stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
    stream.pointee.avail_out = uInt(output.count)
}

/// Leaves no pointer to the buffers in the stream after the call.
private func detach(_ stream: UnsafeMutablePointer<z_stream>) {
    stream.pointee.next_in = nil
    stream.pointee.next_out = nil
}

/// CRC-32 (the zlib / PNG / Python `zlib.crc32` polynomial) of `bytes`, continuing from `crc`.
/// The corresponding C function is `crc32`.
func crc32(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
    return UInt32(CZlib.crc32(uLong(crc), base.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
}

func crc32(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
    bytes.withUnsafeBytes { crc32($0, continuing: crc) }
}

/// The version of the zstd library in use, e.g. `1.5.4`.
package var zstdVersion: String { String(cString: ZSTD_versionString()) }
/// The version of the zlib library in use.
package var zlibVersion: String { String(cString: CZlib.zlibVersion()) }
